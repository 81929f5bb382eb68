using System.IdentityModel.Tokens.Jwt;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using JobApi.Security;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace JobApi.IntegrationTests.Security;

/// <summary>Two tenants with an API key each, and a JWT signing key: the configuration the security tests run under.</summary>
public static class Tenancy
{
    public const string AcmeKey = "acme-key-0f3c9a7d41b84e2b9c1d";
    public const string GlobexKey = "globex-key-7b2e51c0d9a64f38a0e5";
    public const string SigningKey = "test-signing-key-that-is-long-enough-for-hs256";
    public const string Issuer = "https://issuer.test";

    public static Dictionary<string, string?> Settings(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["JobApi:Auth:ApiKeys:0:Tenant"] = "acme",
            ["JobApi:Auth:ApiKeys:0:KeyHash"] = ApiKeyRing.HashOf(AcmeKey),
            ["JobApi:Auth:ApiKeys:1:Tenant"] = "globex",
            ["JobApi:Auth:ApiKeys:1:KeyHash"] = ApiKeyRing.HashOf(GlobexKey),
            ["JobApi:Auth:Jwt:SigningKey"] = SigningKey,
            ["JobApi:Auth:Jwt:Issuer"] = Issuer,
            ["JobApi:Auth:Jwt:TenantClaim"] = "org",
        };
        foreach (var (k, v) in more ?? []) settings[k] = v;
        return settings;
    }

    /// <summary>A client that sends the key as <c>X-Api-Key</c> (or as a bearer token).</summary>
    public static HttpClient ClientWithKey(this JobApiFactory factory, string key, bool asBearer = false)
    {
        var client = factory.CreateClient();
        if (asBearer) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        else client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    /// <summary>An HS256 token signed with <see cref="SigningKey"/> (or another key), with the tenant in the <c>org</c> claim.</summary>
    public static string Token(string? tenant, string signingKey = SigningKey, DateTime? expires = null, string issuer = Issuer)
    {
        var claims = new List<Claim> { new("sub", "user-1") };
        if (tenant is not null) claims.Add(new Claim("org", tenant));
        var credentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256);
        var now = DateTime.UtcNow;
        var exp = expires ?? now.AddMinutes(5);
        var token = new JwtSecurityToken(issuer, null, claims, notBefore: exp < now ? exp.AddMinutes(-10) : now, expires: exp, signingCredentials: credentials);
        return new JwtSecurityTokenHandler().WriteToken(token);
    }

    /// <summary>Every endpoint of the service as (method, route template), read from the routing table, so that
    /// endpoints added later are covered without editing the tests.</summary>
    public static List<(string Method, string Template)> Endpoints(this JobApiFactory factory, Func<string, bool> where)
    {
        var sources = factory.Services.GetServices<EndpointDataSource>();
        return sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && where(raw.TrimStart('/')))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (m, e.RoutePattern.RawText!.TrimStart('/'))))
            .Distinct().OrderBy(e => e.Item2, StringComparer.Ordinal).ThenBy(e => e.m, StringComparer.Ordinal).ToList();
    }

    /// <summary>The id routes whose every endpoint the cross-tenant tests call as another tenant.</summary>
    public static readonly string[] GuardedRoutePrefixes = ["v1/jobs/{id", "v1/inputs/{id", "v1/schedules/{id"];

    /// <summary>Calls each endpoint with <paramref name="id"/> as <paramref name="other"/> (not the owner) and with an
    /// unknown id as <paramref name="owner"/>: both must be the same 404 not-found problem.</summary>
    public static async Task AssertEveryRouteAnswersAsUnknownAsync(
        IReadOnlyList<(string Method, string Template)> endpoints, string id, HttpClient other, HttpClient owner)
    {
        foreach (var (method, template) in endpoints)
        {
            foreach (var (label, client, path) in new[]
                     {
                         ("another tenant's", other, PathFor(template, id)),
                         ("an unknown id", owner, PathFor(template, "01ARZ3NDEKTSV4RRFFQ69G5FAV")),
                     })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is "POST" or "PUT") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                using var response = await client.SendAsync(request);
                Assert.True((int)response.StatusCode == 404, $"{method} {template} on {label}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                var problem = await response.AssertProblemAsync(404);
                Assert.Equal("urn:jobapi:problem:not-found", problem.GetProperty("type").GetString());
            }
        }
    }

    /// <summary>A path for the template: <c>{id}</c> becomes the job id, any other parameter a harmless value.</summary>
    public static string PathFor(string template, string jobId) =>
        "/" + System.Text.RegularExpressions.Regex.Replace(template, @"\{([^}:?=]+)[^}]*\}", m => m.Groups[1].Value == "id" ? jobId : "0");
}
