using JobApi.Engine;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Cluster;

/// <summary>The service end to end on a 3-primary, 3-replica Redis Cluster, with 16 queue partitions spread over
/// the slots: every kind's oracle, cancel, idempotency, the job list, scheduling (priority bands, delays,
/// dependencies, timeouts, deletion, schedules), and a primary killed mid-job.</summary>
[Collection(RedisClusterCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RedisClusterTests(RedisClusterFixture cluster, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly JobApiFactory _factory = new(cluster.ConnectionString, new Dictionary<string, string?>
    {
        ["JobApi:Queue:Partitions"] = "16",
        ["JobApi:Durability:WaitReplicas"] = "1",
    });
    private HttpClient Client => _client ??= _factory.CreateClient();
    private HttpClient? _client;

    [Fact]
    public Task Primes_on_a_cluster_match_trial_division() => ScaleOutScenarios.PrimesMatchTrialDivisionAsync(Client);

    [Fact]
    public Task Wordcount_on_a_cluster_agrees_with_the_gnu_pipeline() => ScaleOutScenarios.WordcountMatchesGnuPipelineAsync(Client);

    [Fact]
    public Task Noop_with_retries_on_a_cluster_counts_every_shard() => ScaleOutScenarios.NoopCountsEveryShardAsync(Client);

    [Fact]
    public Task Cancel_on_a_cluster_stops_the_job() => ScaleOutScenarios.CancelStopsTheJobAsync(Client);

    [Fact]
    public Task Racing_submits_with_one_idempotency_key_on_a_cluster_give_one_job() => ScaleOutScenarios.IdempotencyKeyGivesOneJobAsync(Client);

    [Fact]
    public Task Job_list_on_a_cluster_holds_every_partition_s_jobs_newest_first() => ScaleOutScenarios.ListIsNewestFirstAcrossPartitionsAsync(Client);

    [Fact]
    public Task Priority_bands_delays_dependencies_timeouts_and_deletion_work_over_the_partitions_of_a_cluster() =>
        ScaleOutScheduling.PriorityBandsDelaysDependenciesAndTimeoutsAsync(Client);

    [Fact]
    public Task A_schedule_on_a_cluster_fires_its_jobs() => ScaleOutScheduling.ScheduleFiresJobsAsync(Client);

    [Fact]
    public async Task Primary_killed_mid_job_is_replaced_by_its_replica_and_the_job_finishes_exactly()
    {
        var id = (await ScaleOutScenarios.SubmitLongJobAsync(Client)).Id();
        await ScaleOutScenarios.WaitUntilMidJobAsync(Client, id);
        var victim = await cluster.PrimaryOfAsync(new RedisKeys(_factory.KeyPrefix).Job(id).Job);
        output.WriteLine($"SIGKILL the primary of job {id}'s slot: port {victim.Port}");
        await victim.KillAsync();
        try
        {
            await ScaleOutScenarios.AssertFinishedExactlyAsync(Client, cluster.Redis, _factory.KeyPrefix, id);
        }
        finally
        {
            // It comes back as a replica of the node that took over (its nodes.conf remembers the cluster).
            await victim.RestartAsReplicaAsync();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        await _factory.DisposeAsync();
    }
}
