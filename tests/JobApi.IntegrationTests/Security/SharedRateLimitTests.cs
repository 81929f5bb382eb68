using System.Diagnostics;

namespace JobApi.IntegrationTests.Security;

/// <summary>With <c>JobApi:Limits:RateLimiter=Redis</c> (the default), two API nodes on the same Redis and key prefix
/// draw from one bucket per tenant: together they pass no more than the tenant's rate allows (a burst of
/// <c>RequestsPerSecond</c>, then <c>RequestsPerSecond</c> a second), and each answers 429 with Retry-After.</summary>
[Collection(RedisCollection.Name)]
public sealed class SharedRateLimitTests(RedisServerFixture redis) : IAsyncLifetime
{
    private const int PerSecond = 10;
    private readonly List<JobApiFactory> _nodes = [];

    public Task InitializeAsync()
    {
        var prefix = "test-" + Guid.NewGuid().ToString("N")[..12];
        for (var i = 0; i < 2; i++)
            _nodes.Add(new JobApiFactory(redis, Tenancy.Settings(new() { ["JobApi:Limits:RequestsPerSecond"] = $"{PerSecond}", ["JobApi:Roles"] = "Api" }))
                { KeyPrefix = prefix });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
    }

    [Fact]
    public async Task Two_api_nodes_together_pass_no_more_than_the_tenants_rate()
    {
        var clients = _nodes.Select(n => n.ClientWithKey(Tenancy.AcmeKey)).ToArray();
        foreach (var client in clients) Assert.Equal(200, (int)(await client.GetAsync("/health/live")).StatusCode); // both nodes up first
        var passed = new int[clients.Length];
        var refused = new int[clients.Length];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 8 * PerSecond; i++)
        {
            using var response = await clients[i % clients.Length].GetAsync("/v1/kinds");
            if ((int)response.StatusCode == 200) passed[i % clients.Length]++;
            else
            {
                var problem = await response.AssertProblemAsync(429);
                Assert.Equal("urn:jobapi:problem:rate-limited", problem.GetProperty("type").GetString());
                Assert.True(int.Parse(response.Headers.GetValues("Retry-After").Single()) >= 1);
                refused[i % clients.Length]++;
            }
        }
        var elapsed = clock.Elapsed.TotalSeconds;
        // GCRA oracle: over t seconds at most burst + rate * t requests pass (Redis's clock runs within the client's span).
        var bound = PerSecond + (int)Math.Floor(PerSecond * elapsed) + 1;
        Assert.True(passed.Sum() <= bound, $"{passed.Sum()} requests passed in {elapsed:F2} s; the shared limit allows at most {bound}");
        Assert.True(passed.Sum() >= PerSecond, $"only {passed.Sum()} passed; a fresh bucket lets a burst of {PerSecond} through");
        Assert.All(refused, r => Assert.True(r > 0, "each node refuses once the shared bucket is empty"));
    }
}
