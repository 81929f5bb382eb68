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

    /// <summary>A worker's start-up subscriptions (the nudge and follow-up channels) that Redis does not take are tried
    /// again until taken; the process used to stop when one failed (seen with a subscription that timed out on an
    /// overloaded Redis Cluster). Here Redis refuses them for real: the worker's ACL user may use every key and command
    /// but no channel, until the test grants it the channels.</summary>
    [Fact]
    public Task Worker_whose_subscriptions_are_refused_at_start_keeps_trying_and_works_once_they_are_taken() =>
        ProcessCluster.RunAsync(output, "subscribe-refused", async cluster =>
    {
        await cluster.Server.ExecuteAsync("ACL", "SETUSER", "late-channels", "on", ">late-channels-pw", "~*", "+@all", "resetchannels");
        var api = cluster.AddNode("api", "Api");
        var worker = cluster.AddNode("worker", "Worker", new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = $"{cluster.RedisConnectionString},user=late-channels,password=late-channels-pw",
        });
        await ProcessCluster.StartAllAsync(api, worker);
        await ProcessCluster.WaitAsync("the worker reports a refused subscription", () => Task.FromResult(worker.LogTail(200).Contains("NOPERM")),
            TimeSpan.FromSeconds(20));
        var id = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 10 }, shards = 4 });
        await Task.Delay(TimeSpan.FromSeconds(2)); // several tries refused
        Assert.True(worker.IsRunning, $"the worker stopped when its subscription was refused:\n{worker.LogTail(40)}");

        await cluster.Server.ExecuteAsync("ACL", "SETUSER", "late-channels", "allchannels");
        var final = await cluster.WaitForFinalAsync(id, JobTimeout);
        Assert.Equal("succeeded", final.GetProperty("state").GetString());
        // Subscribed now: a job submitted next is nudged to the worker (or found by its idle poll) and runs.
        var next = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 1 });
        Assert.Equal("succeeded", (await cluster.WaitForFinalAsync(next, JobTimeout)).GetProperty("state").GetString());
        Assert.True(worker.IsRunning);
        cluster.AssertNodesAlive();
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
        string? fence = null;
        await ProcessCluster.WaitAsync("shard 0 runs", async () => (fence = await cluster.FenceOfAsync(id, 0)) is not null, TimeSpan.FromSeconds(20));
        var sinceStart = Stopwatch.StartNew();

        // Right after one of its renewals (the deadline moves), the lease runs out behind the worker's back: the
        // state Redis is in when a worker's renewals do not reach it for a whole TTL (a partition, a Redis restart
        // that outlasted the TTL). The worker still runs attempt 1; its next renewal is a second away.
        var deadline = await cluster.LeaseDeadlineAsync(id, fence!);
        await ProcessCluster.WaitAsync("a renewal 4 s into the shard", async () =>
        {
            var now = await cluster.LeaseDeadlineAsync(id, fence!);
            if (now == deadline || sinceStart.Elapsed < TimeSpan.FromSeconds(4))
            {
                deadline = now;
                return false;
            }
            return true;
        }, TimeSpan.FromSeconds(10));
        output.WriteLine($"lease of attempt 1 expired behind the worker's back {sinceStart.Elapsed.TotalSeconds:F1} s into the shard");
        await cluster.ExpireLeaseAsync(id, fence!);

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
