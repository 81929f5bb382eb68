namespace JobApi.IntegrationTests;

[Collection(RedisCollection.Name)]
public sealed class SmokeTests(RedisServerFixture redis) : IAsyncLifetime
{
    private JobApiFactory _factory = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _factory = new JobApiFactory(redis);
        _client = _factory.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task A_primes_job_runs_end_to_end_and_counts_the_primes_below_a_million()
    {
        var job = await _client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 1_000_000 }, shards = 8 });
        var result = await _client.ResultAsync(job.GetProperty("id").GetString()!);
        Assert.Equal(78_498, result.GetProperty("count").GetInt64());
        Assert.Equal(37_550_402_023L, result.GetProperty("sum").GetInt64());
    }
}
