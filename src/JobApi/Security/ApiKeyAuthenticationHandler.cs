using System.Security.Claims;
using System.Text.Encodings.Web;
using JobApi.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace JobApi.Security;

/// <summary>Authenticates <c>X-Api-Key: &lt;key&gt;</c> or <c>Authorization: Bearer &lt;key&gt;</c> against the
/// <see cref="ApiKeyRing"/>. Its challenge is the API's one 401: problem+json with <c>WWW-Authenticate</c>.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiKeyRing ring, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = PresentedKey(Request);
        if (key is null) return Task.FromResult(AuthenticateResult.NoResult());
        if (ring.FindTenant(key) is not { } tenant) return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        var identity = new ClaimsIdentity([new Claim(TenantClaims.Tenant, tenant)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <summary>The key from <c>X-Api-Key</c>, else the token of <c>Authorization: Bearer</c>; null when neither is there.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var header) && !string.IsNullOrEmpty(header.ToString())) return header.ToString();
        return BearerToken(request);
    }

    public static string? BearerToken(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && authorization.Length > 7
            ? authorization[7..].Trim()
            : null;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var presented = PresentedKey(Request) is not null;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers[HeaderNames.WWWAuthenticate] = presented ? "Bearer realm=\"jobapi\", error=\"invalid_token\"" : "Bearer realm=\"jobapi\"";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails
            {
                Type = Problems.Unauthorized, Title = "Authentication required", Status = StatusCodes.Status401Unauthorized,
                Detail = presented
                    ? "The API key or token is not valid."
                    : $"Send an API key as 'Authorization: Bearer <key>' or '{HeaderName}: <key>'.",
            },
        });
    }
}

/// <summary>Claim types the service sets on an authenticated principal.</summary>
public static class TenantClaims
{
    public const string Tenant = "jobapi:tenant";
}
