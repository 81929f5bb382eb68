using JobApi.Engine;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Cluster;

/// <summary>Resharding under a running job: its slot and its queue partition's slot move to another primary while
/// workers lease, renew and commit, so the service meets <c>TRYAGAIN</c>, <c>ASK</c> and <c>MOVED</c>.</summary>
[Collection(RedisClusterCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class SlotMigrationTests(RedisClusterFixture cluster, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Partitions = 16;
    private readonly JobApiFactory _factory = new(cluster.ConnectionString, new Dictionary<string, string?>
    {
        ["JobApi:Queue:Partitions"] = Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture),
        // Leases outlast the migration, so a shard runs twice only if a refused script was given up.
        ["JobApi:Worker:LeaseTtl"] = "00:00:10",
    });
    private HttpClient Client => _client ??= _factory.CreateClient();
    private HttpClient? _client;

    [Fact]
    public async Task Job_whose_slot_and_queue_partition_move_to_another_primary_mid_run_finishes_with_every_shard_committed_once()
    {
        const int shards = 80;
        var id = (await ScaleOutScenarios.SubmitLongJobAsync(Client, shards)).Id();
        await ScaleOutScenarios.WaitUntilMidJobAsync(Client, id);
        var keys = new RedisKeys(_factory.KeyPrefix, Partitions);
        foreach (var key in new[] { keys.Job(id).Job, keys.Active(keys.PartitionOf(id)) })
        {
            await using var migration = new SlotMigration(cluster, cluster.Redis.GetHashSlot(key));
            var before = await migration.TryAgainRepliesAsync();
            // While the slot's keys are split between two primaries, the workers' scripts meet TRYAGAIN, a few times.
            var (from, to) = await migration.RunAsync(whileSplit: () => TestWait.UntilAsync(
                async () => await migration.TryAgainRepliesAsync() >= before + 3,
                TimeSpan.FromSeconds(20), $"the workers' scripts did not meet TRYAGAIN while the slot of {key} was split"));
            output.WriteLine($"slot {migration.Slot} of {key} moved from port {from} to {to}; TRYAGAIN replies {before} -> {await migration.TryAgainRepliesAsync()}");
        }
        await ScaleOutScenarios.AssertFinishedExactlyAsync(Client, cluster.Redis, _factory.KeyPrefix, id, shards);
        // Every refused script was sent again until it ran: no shard was handed out twice.
        Assert.Equal(shards, (int)await cluster.Redis.GetDatabase().HashGetAsync(keys.Job(id).Job, "attempts"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        await _factory.DisposeAsync();
    }
}
