using System.Diagnostics;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// Redis-side faults: a SIGKILL of redis-server with <c>appendfsync everysec</c> (up to about a second of
/// acknowledged writes may be lost: whatever survives must still end in a final state), and the server
/// dropping the service's connections (<c>CLIENT KILL</c>): the nodes reconnect and the work goes on.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class RedisFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public Task Redis_killed_with_appendfsync_everysec_leaves_no_job_stuck() => ProcessCluster.RunAsync(output, "redis-everysec", async cluster =>
    {
        var tally = new FaultTally("Redis SIGKILL + restart, appendfsync everysec");
        var service = cluster.AddNode("service", "Api,Worker", new Dictionary<string, string> { ["JobApi__Worker__Concurrency"] = "4" });
        await service.StartAsync();
        var accepted = new List<string>();
        var probes = new HashSet<string>();
        var restarts = FaultMode.Scale(2, 20);
        for (var round = 1; round <= restarts; round++)
        {
            // Jobs keep arriving up to the very moment of the crash: the last ones are inside the fsync window.
            var feeding = new CancellationTokenSource();
            var feeder = Task.Run(async () =>
            {
                while (!feeding.IsCancellationRequested)
                {
                    try
                    {
                        accepted.Add(await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 30 }, shards = 5 }));
                        await Task.Delay(20);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
                    {
                        return; // Redis went away under the request: not accepted
                    }
                }
            });
            await ProcessCluster.WaitAsync("a few jobs are accepted", () => Task.FromResult(accepted.Count >= round * 10), TimeSpan.FromSeconds(30));
            // A SIGKILL of redis-server alone loses nothing that was write()n; a machine crash loses what was not yet
            // fsynced: up to the last second. Both are injected: the kill, then the AOF cut back to its size 1 s earlier.
            var fsynced = cluster.AofBytes();
            await Task.Delay(TimeSpan.FromSeconds(1));
            var written = cluster.AofBytes();
            cluster.KillRedis();
            var clock = Stopwatch.StartNew();
            tally.Inject();
            await feeding.CancelAsync();
            await feeder;
            await cluster.RestartRedisAsync(() => cluster.TruncateAof(fsynced));
            output.WriteLine($"round {round}: cut the AOF from {written} to {fsynced} bytes (the last second of writes)");
            // Recovered: the service takes a new job and finishes it.
            var probe = await SubmitWhenReadyAsync(cluster);
            await cluster.WaitForFinalAsync(probe, JobTimeout);
            tally.Recovered(clock.Elapsed);
            accepted.Add(probe);
            probes.Add(probe);
        }

        // Every accepted job either survived and ends final with its result, or vanished whole in the fsync window.
        var survived = new List<string>();
        var vanished = 0;
        foreach (var id in accepted)
        {
            if (await cluster.Db.KeyExistsAsync(cluster.JobKey(id, "job"))) survived.Add(id);
            else vanished++;
        }
        var counters = await cluster.SettleAsync(tally, survived, (id, result) => result.GetProperty("shards").GetInt32() == (probes.Contains(id) ? 1 : 5), JobTimeout);
        for (var i = 0; i < vanished; i++) tally.Lost();
        output.WriteLine(tally.Write(new Dictionary<string, object> { ["vanishedInFsyncWindow"] = vanished, ["survived"] = survived.Count }));
        output.WriteLine($"{accepted.Count} accepted, {survived.Count} survived and succeeded, {vanished} vanished inside the fsync window");
        Assert.All(counters, c => Assert.Equal(c.Total, c.Commits));
        Assert.Equal(survived.Count, tally.JobsAccepted - tally.JobsLost);
        Assert.Equal(0, tally.DuplicateCommits);
    }, appendFsync: "everysec");

    [Fact]
    public Task Client_kill_of_the_service_connections_lets_work_resume() => ProcessCluster.RunAsync(output, "client-kill", async cluster =>
    {
        var tally = new FaultTally("CLIENT KILL of the service's Redis connections");
        var api = cluster.AddNode("api", "Api");
        var workers = new[] { cluster.AddNode("worker-1", "Worker"), cluster.AddNode("worker-2", "Worker") };
        await ProcessCluster.StartAllAsync([api, .. workers]);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 100 }, shards = 30 }));

        var kills = FaultMode.Scale(5, 50);
        for (var k = 0; k < kills; k++)
        {
            var before = await CommittedAsync(cluster, ids);
            var killed = await KillServiceConnectionsAsync(cluster);
            var clock = Stopwatch.StartNew();
            tally.Inject();
            output.WriteLine($"CLIENT KILL #{k + 1}: {killed} connection(s) dropped at {before} commits");
            if (before == await TotalAsync(ids)) ids.Add(await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 100 }, shards = 30 }));
            await ProcessCluster.WaitAsync("a commit lands after the connections were killed", async () => await CommittedAsync(cluster, ids) > before,
                TimeSpan.FromSeconds(30));
            tally.Recovered(clock.Elapsed);
        }
        // A job submitted after the last kill is found through the re-established pub/sub nudges (or the idle poll).
        ids.Add(await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 10 }, shards = 30 }));
        var counters = await cluster.SettleAsync(tally, ids, (_, result) => result.GetProperty("shards").GetInt32() == 30, JobTimeout);
        output.WriteLine(tally.Write());
        Assert.Equal(0, tally.JobsLost);
        Assert.Equal(0, tally.DuplicateCommits);
        Assert.All(counters, c => Assert.Equal(c.Total, c.Commits));
        cluster.AssertNodesAlive();
    });

    private static async Task<long> CommittedAsync(ProcessCluster cluster, List<string> ids) =>
        (await Task.WhenAll(ids.Select(id => cluster.Db.HashLengthAsync(cluster.JobKey(id, "done"))))).Sum();

    private static Task<long> TotalAsync(List<string> ids) => Task.FromResult(ids.Count * 30L);

    /// <summary>CLIENT KILL ID of every connection the service opened (client name "jobapi"); the test's own is spared.</summary>
    private static async Task<int> KillServiceConnectionsAsync(ProcessCluster cluster)
    {
        var killed = 0;
        foreach (var client in await cluster.Server.ClientListAsync())
            if (client.Name == "jobapi") killed += (int)await cluster.Server.ClientKillAsync(client.Id, skipMe: true);
        return killed;
    }

    private static async Task<string> SubmitWhenReadyAsync(ProcessCluster cluster)
    {
        string? id = null;
        await ProcessCluster.WaitAsync("the service accepts a job again", async () =>
        {
            try
            {
                id = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 1 });
                return true;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or RedisException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30));
        return id!;
    }
}
