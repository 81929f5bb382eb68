using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Cluster;

/// <summary>The service end to end on a Sentinel-managed Redis (<c>serviceName=</c> in the connection string), and
/// the primary killed mid-job: Sentinel promotes the replica and the job finishes exactly.</summary>
[Collection(RedisSentinelCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RedisSentinelTests(RedisSentinelFixture sentinel, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly JobApiFactory _factory = new(sentinel.ConnectionString, new Dictionary<string, string?>
    {
        ["JobApi:Durability:WaitReplicas"] = "1",
    });
    private HttpClient Client => _client ??= _factory.CreateClient();
    private HttpClient? _client;

    [Fact]
    public Task Primes_through_sentinel_match_trial_division() => ScaleOutScenarios.PrimesMatchTrialDivisionAsync(Client);

    [Fact]
    public Task Racing_submits_with_one_idempotency_key_through_sentinel_give_one_job() => ScaleOutScenarios.IdempotencyKeyGivesOneJobAsync(Client);

    [Fact]
    public async Task Primary_killed_mid_job_is_replaced_by_sentinel_and_the_job_finishes_exactly()
    {
        var id = (await ScaleOutScenarios.SubmitLongJobAsync(Client)).Id();
        await ScaleOutScenarios.WaitUntilMidJobAsync(Client, id);
        output.WriteLine($"SIGKILL the primary (port {sentinel.Primary.Port}) while job {id} runs");
        await sentinel.Primary.KillAsync();
        try
        {
            await ScaleOutScenarios.AssertFinishedExactlyAsync(Client, sentinel.Redis, _factory.KeyPrefix, id);
        }
        finally
        {
            // Sentinel turns the old primary into a replica of the new one when it comes back.
            await sentinel.Primary.RestartAsReplicaAsync();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        await _factory.DisposeAsync();
    }
}
