using System.Net.Http.Headers;

namespace JobApi.IntegrationTests.Security;

/// <summary>Once API keys exist, every /v1 endpoint refuses callers without a valid key or token with a 401
/// problem carrying WWW-Authenticate; keys work as X-Api-Key and as a bearer token; JWTs need the tenant claim.</summary>
[Collection(RedisCollection.Name)]
public sealed class AuthenticationTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service, Tenancy.Settings())
{
    private List<(string Method, string Template)> V1Endpoints => Factory.Endpoints(t => t.StartsWith("v1/", StringComparison.Ordinal));

    [Fact]
    public async Task Every_v1_endpoint_without_credentials_is_a_401_problem_with_WWW_Authenticate()
    {
        var endpoints = V1Endpoints;
        Assert.True(endpoints.Count >= 6, $"found only {endpoints.Count} endpoints");
        var before = await SnapshotAsync();
        foreach (var (method, template) in endpoints)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), Tenancy.PathFor(template, "01ARZ3NDEKTSV4RRFFQ69G5FAV"));
            if (method is "POST" or "PUT") request.Content = new StringContent("""{ "kind": "noop", "input": {} }""", System.Text.Encoding.UTF8, "application/json");
            using var response = await Client.SendAsync(request);
            Assert.True((int)response.StatusCode == 401, $"{method} {template}: {(int)response.StatusCode}");
            await response.AssertProblemAsync(401);
            Assert.Equal(TestSupport.ProblemJson, response.Content.Headers.ContentType?.MediaType);
            Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString());
        }
        await AssertNothingCreatedSinceAsync(before);
    }

    [Theory]
    [InlineData("X-Api-Key", "not-a-key")]
    [InlineData("X-Api-Key", "")]
    [InlineData("Authorization", "Bearer not-a-key")]
    [InlineData("Authorization", "Basic YWNtZTphY21l")]
    [InlineData("Authorization", "Bearer " + Tenancy.AcmeKey + "x")]
    [InlineData("Cookie", "X-Api-Key=" + Tenancy.AcmeKey)]
    public async Task A_wrong_or_misplaced_credential_is_a_401_problem(string header, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        request.Headers.TryAddWithoutValidation(header, value);
        using var response = await Client.SendAsync(request);
        await response.AssertProblemAsync(401);
        Assert.StartsWith("Bearer realm=\"jobapi\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_valid_key_works_as_X_Api_Key_and_as_a_bearer_token(bool asBearer)
    {
        using var client = Factory.ClientWithKey(Tenancy.AcmeKey, asBearer);
        var job = await client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 100 } });
        var result = await client.ResultAsync(job.Id());
        Assert.Equal(25, result.GetProperty("count").GetInt64());
        Assert.Equal(200, (int)(await client.GetAsync("/v1/kinds")).StatusCode);
    }

    [Fact]
    public async Task Health_checks_and_the_openapi_document_need_no_key()
    {
        foreach (var path in new[] { "/health/live", "/health/ready", "/swagger/v1/swagger.json" })
            Assert.Equal(200, (int)(await Client.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task The_dashboard_page_needs_no_key_but_its_data_and_the_metrics_do()
    {
        foreach (var path in new[] { "/dashboard", "/dashboard/app.js", "/dashboard/app.css" })
            Assert.Equal(200, (int)(await Client.GetAsync(path)).StatusCode);
        foreach (var path in new[] { "/v1/workers", "/metrics" })
            Assert.Equal(401, (int)(await Client.GetAsync(path)).StatusCode);
        using var acme = Factory.ClientWithKey(Tenancy.AcmeKey);
        foreach (var path in new[] { "/v1/workers", "/metrics" })
            Assert.Equal(200, (int)(await acme.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task A_jwt_with_the_tenant_claim_sees_the_jobs_of_that_tenant()
    {
        using var acme = Factory.ClientWithKey(Tenancy.AcmeKey);
        var job = await acme.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 } });
        using var jwt = Factory.CreateClient();
        jwt.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Tenancy.Token("acme"));
        Assert.Equal(job.Id(), (await jwt.GetJsonAsync($"/v1/jobs/{job.Id()}")).Id());
        jwt.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Tenancy.Token("globex"));
        await (await jwt.GetAsync($"/v1/jobs/{job.Id()}")).AssertProblemAsync(404);
    }

    public static TheoryData<string, string> BadTokens() => new()
    {
        { "no tenant claim", Tenancy.Token(null) },
        { "tenant claim that is not a tenant name", Tenancy.Token("acme}{x") },
        { "signed with another key", Tenancy.Token("acme", signingKey: "another-signing-key-that-is-long-enough-too") },
        { "expired", Tenancy.Token("acme", expires: DateTime.UtcNow.AddMinutes(-5)) },
        { "another issuer", Tenancy.Token("acme", issuer: "https://evil.test") },
        { "alg none", UnsignedToken() },
    };

    private static string UnsignedToken()
    {
        static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        return $"{B64("""{"alg":"none","typ":"JWT"}""")}.{B64($$"""{"org":"acme","iss":"{{Tenancy.Issuer}}","exp":{{exp}}}""")}.";
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_bad_jwt_is_a_401_problem(string what, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Client.SendAsync(request);
        Assert.True((int)response.StatusCode == 401, $"{what}: {(int)response.StatusCode}");
        await response.AssertProblemAsync(401);
    }
}
