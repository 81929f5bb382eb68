using System.Diagnostics;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// Faults that a worker process must ride out without help: Redis stalling past the client's command
/// timeout, and losing a lease it did not hear about before it leased the same shard again.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class WorkerResilienceFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public Task Redis_stalled_past_the_client_timeout_leaves_every_node_running() => ProcessCluster.RunAsync(output, "stall-redis", async cluster =>
    {
        var api = cluster.AddNode("api", "Api");
        var worker = cluster.AddNode("worker", "Worker");
        await ProcessCluster.StartAllAsync(api, worker);
        var id = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 500 }, shards = 8 });
        await ProcessCluster.WaitAsync("the first shards are done", async () => (await cluster.CountersAsync(id)).Succeeded >= 1, TimeSpan.FromSeconds(30));

        // A stall, not a crash: connections stay open and calls hang until StackExchange.Redis gives up on them
        // (5 s by default). Then Redis answers again, as after a long fork, a swap storm or a paused VM.
        cluster.StopRedis();
        await Task.Delay(TimeSpan.FromSeconds(7));
        cluster.ContinueRedis();

        var final = await cluster.WaitForFinalAsync(id, JobTimeout);
        var counters = await cluster.ReportAsync("after redis stall", id);
        output.WriteLine($"api running={api.IsRunning} worker running={worker.IsRunning}");
        Assert.True(api.IsRunning, $"the API node stopped after the stall:\n{api.LogTail(40)}");
        Assert.True(worker.IsRunning, $"the worker node stopped after the stall:\n{worker.LogTail(40)}");
        Assert.Equal("succeeded", final.GetProperty("state").GetString());
        Assert.Equal(counters.Total, counters.Commits);
    });

    [Fact]
    public Task Worker_that_leases_its_own_reaped_shard_again_keeps_renewing_the_new_lease() => ProcessCluster.RunAsync(output, "re-lease", async cluster =>
    {
        // One worker, so the shard can only come back to it. TTL 3 s: renewals every second leave a wide window.
        var service = cluster.AddNode("service", "Api,Worker", new Dictionary<string, string>
        {
            ["JobApi__Worker__Concurrency"] = "2", ["JobApi__Worker__LeaseTtl"] = "00:00:03",
        });
        await service.StartAsync();
        var id = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 8000 }, shards = 1, maxAttempts = 3 });
        var running = cluster.JobKey(id, "running");
        string? fence = null;
        await ProcessCluster.WaitAsync("shard 0 runs", async () => (fence = await cluster.FenceOfAsync(id, 0)) is not null, TimeSpan.FromSeconds(20));
        var sinceStart = Stopwatch.StartNew();

        // Right after one of its renewals (the deadline moves), the lease runs out behind the worker's back: the
        // state Redis is in when a worker's renewals do not reach it for a whole TTL (a partition, a Redis restart
        // that outlasted the TTL). The worker still runs attempt 1; its next renewal is a second away.
        var deadline = await cluster.Db.SortedSetScoreAsync(running, fence);
        await ProcessCluster.WaitAsync("a renewal 4 s into the shard", async () =>
        {
            var now = await cluster.Db.SortedSetScoreAsync(running, fence);
            if (now == deadline || sinceStart.Elapsed < TimeSpan.FromSeconds(4))
            {
                deadline = now;
                return false;
            }
            return true;
        }, TimeSpan.FromSeconds(10));
        output.WriteLine($"lease of attempt 1 expired behind the worker's back {sinceStart.Elapsed.TotalSeconds:F1} s into the shard");
        var expire = cluster.Db.CreateTransaction();
        _ = expire.KeyDeleteAsync(cluster.JobKey(id, "lease:" + fence));
        _ = expire.SortedSetAddAsync(running, fence, 0);
        Assert.True(await expire.ExecuteAsync());

        // Its lease loop reaps the shard and, being the only worker, leases it again (attempt 2) while attempt 1 still runs.
        await ProcessCluster.WaitAsync("the same worker leases shard 0 again", async () =>
        {
            var shards = await cluster.ShardsAsync(id);
            return shards.Count == 1 && shards[0].GetProperty("attempts").GetInt32() == 2 && shards[0].GetProperty("state").GetString() == "running";
        }, TimeSpan.FromSeconds(10));

        // Attempt 1 ends, its commit is refused (stale fence). Attempt 2 must go on being renewed and commit.
        var final = await cluster.WaitForFinalAsync(id, JobTimeout);
        var counters = await cluster.ReportAsync("re-leased shard", id);
        output.WriteLine($"stale commit of attempt 1 refused: {service.LogContains("the lease was lost or taken over")}");
        Assert.Equal("succeeded", final.GetProperty("state").GetString());
        Assert.Equal(1, counters.Commits);
        Assert.Equal(2, counters.Attempts);
    });
}
