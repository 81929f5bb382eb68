namespace JobApi.IntegrationTests.Security;

/// <summary><c>JobApi:Limits:RequestsPerSecond</c>: a tenant over its rate gets 429 problem+json with
/// Retry-After naming the limit; another tenant is not affected; health checks are never limited.</summary>
[Collection(RedisCollection.Name)]
public sealed class RateLimitTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, Tenancy.Settings(new() { ["JobApi:Limits:RequestsPerSecond"] = "3" }))
{
    [Fact]
    public async Task A_tenant_over_its_request_rate_gets_429_with_Retry_After_and_others_do_not()
    {
        using var acme = Factory.ClientWithKey(Tenancy.AcmeKey);
        using var globex = Factory.ClientWithKey(Tenancy.GlobexKey);
        HttpResponseMessage? refused = null;
        // The bucket holds 3 tokens refilled each second: at most 3 + 3 per second of requests can pass, so 20 quick ones cannot all pass.
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var response = await acme.GetAsync("/v1/kinds");
            if ((int)response.StatusCode == 429) refused = response;
            else Assert.Equal(200, (int)response.StatusCode);
        }
        Assert.NotNull(refused);
        var problem = await refused.AssertProblemAsync(429);
        Assert.Equal("urn:jobapi:problem:rate-limited", problem.GetProperty("type").GetString());
        Assert.Equal("JobApi:Limits:RequestsPerSecond", problem.GetProperty("limit").GetString());
        Assert.True(int.Parse(refused.Headers.GetValues("Retry-After").Single()) >= 1);
        Assert.Equal(TestSupport.ProblemJson, refused.Content.Headers.ContentType?.MediaType);

        Assert.Equal(200, (int)(await globex.GetAsync("/v1/kinds")).StatusCode);
        for (var i = 0; i < 10; i++) Assert.Equal(200, (int)(await acme.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task Unauthenticated_callers_are_limited_by_address_too()
    {
        var statuses = new List<int>();
        for (var i = 0; i < 20; i++) statuses.Add((int)(await Client.GetAsync("/v1/jobs")).StatusCode);
        Assert.Contains(429, statuses);
        Assert.All(statuses, s => Assert.True(s is 401 or 429, $"status {s}"));
    }
}
