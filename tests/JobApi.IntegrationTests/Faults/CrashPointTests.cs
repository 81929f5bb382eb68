using System.Net;
using System.Diagnostics;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// Crashes at the moments an outside kill can rarely hit: right after a commit was applied but before the
/// worker heard back, and in the middle of a merge. The processes crash themselves through the service's
/// test-only fault points (JOBAPI_FAULT_INJECTION=enabled plus JobApi:Faults:*).
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class CrashPointTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public Task Crash_between_a_commit_and_its_acknowledgement_commits_each_shard_once() => ProcessCluster.RunAsync(output, "crash-after-commit", async cluster =>
    {
        var tally = new FaultTally("crash between commit and acknowledgement");
        var api = cluster.AddNode("api", "Api");
        // Every incarnation of this worker dies right after its first commit returns.
        var armed = cluster.AddNode("worker-armed", "Worker", ProcessCluster.Armed(("CrashAfterCommits", "1")), mayCrash: true);
        var clean = cluster.AddNode("worker-clean", "Worker");
        await ProcessCluster.StartAllAsync(api);

        // A one-shard job: the commit itself finishes the job (the worker merged it), then the process dies.
        var single = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 50 }, shards = 1 });
        // A multi-shard job: each crash leaves some shards of its lease committed and the rest to be re-run.
        var multi = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 150 }, shards = 8, maxAttempts = 20 });
        const int crashes = 4;
        var recoveries = new List<Task>();
        for (var round = 1; round <= crashes; round++)
        {
            await armed.StartAsync();
            var workerId = armed.WorkerId;
            var exit = await armed.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(exit is not null, $"round {round}: the armed worker did not crash after a commit");
            tally.Inject();
            armed.Reap();
            var held = await cluster.HeldByAsync([single, multi], workerId);
            output.WriteLine($"round {round}: crashed after a commit, {held.Count} shard(s) still under its lease; {await cluster.CountersAsync(multi)}");
            // Recovery: until the shards its lease still held are committed by the next incarnation (after the lease TTL).
            if (held.Count > 0) recoveries.Add(cluster.WatchRecoveryAsync(tally, held, JobTimeout));
            if (round == 1)
            {
                // The commit that finished the one-shard job was applied although its worker never heard back.
                Assert.Equal("succeeded", (await cluster.CountersAsync(single)).State);
            }
        }
        await clean.StartAsync();
        await Task.WhenAll(recoveries);

        var counters = await cluster.SettleAsync(tally, [single, multi], (id, result) => result.GetProperty("shards").GetInt32() == (id == single ? 1 : 8), JobTimeout);
        output.WriteLine(tally.Write());
        Assert.Equal(0, tally.JobsLost);
        Assert.Equal(0, tally.DuplicateCommits);
        Assert.All(counters, c => Assert.Equal(c.Total, c.Commits));
        Assert.All(counters, c => Assert.Equal(c.Total, c.Succeeded));
    });

    [Fact]
    public Task Crash_after_a_lone_shard_ran_ahead_of_its_submit_leaves_no_job_behind_and_the_retry_runs_it() => ProcessCluster.RunAsync(output, "crash-ran-ahead", async cluster =>
    {
        var tally = new FaultTally("crash after a lone shard ran ahead of its submit");
        // One node with both roles, as run.sh starts it: a submit of a kind that is short there (here one that waits) runs
        // its shard first, then writes the job with its commit. This node dies between the two; the other one (the cluster's reads
        // go to it) starts once it has.
        var clean = cluster.AddNode("node", "Api,Worker");
        var armed = cluster.AddNode("node-armed", "Api,Worker", ProcessCluster.Armed(("CrashInSubmit", "ran-ahead")), mayCrash: true);
        await armed.StartAsync();
        using var armedHttp = ProcessCluster.ClientFor(armed);
        var body = new { kind = "noop", input = new { }, shards = 1 };
        var ids = new List<string>();
        // The first submits are held and run by the worker as usual (the kind is not timed there yet); the first one
        // that runs its shard ahead kills the node, and its client gets no answer.
        while (await ProcessCluster.PostJobAsync(armedHttp, body, null, prefer: "wait=10") is { } answered)
        {
            Assert.Equal(HttpStatusCode.OK, answered.Status);
            ids.Add(answered.Body.GetProperty("id").GetString()!);
            Assert.True(ids.Count < 50, "no submit ran its shard ahead");
        }
        var clock = Stopwatch.StartNew();
        Assert.True(await armed.WaitForExitAsync(TimeSpan.FromSeconds(10)) is not null, "the node did not crash");
        armed.Reap();
        tally.Inject();
        // Nothing of the unanswered submit's job was written: every job in Redis is one a client was answered for.
        Assert.Equal(ids.Count, await cluster.JobIndexCountAsync());
        Assert.Equal(ids.Count, await cluster.JobHashCountAsync());

        // The client submits again, to a node that is up, and gets its result.
        await clean.StartAsync();
        using var cleanHttp = ProcessCluster.ClientFor(clean);
        var retry = await ProcessCluster.PostJobAsync(cleanHttp, body, null, prefer: "wait=10");
        tally.Recovered(clock.Elapsed);
        Assert.True(retry is { Status: HttpStatusCode.OK }, $"the retry got {retry?.Status}: {retry?.Body}");
        ids.Add(retry!.Value.Body.GetProperty("id").GetString()!);

        var counters = await cluster.SettleAsync(tally, ids, (_, result) => result.GetProperty("shards").GetInt32() == 1, JobTimeout);
        output.WriteLine(tally.Write());
        Assert.Equal(0, tally.JobsLost);
        Assert.Equal(0, tally.DuplicateCommits);
        Assert.All(counters, c => Assert.Equal(1, c.Commits));
    });

    [Fact]
    public Task Crash_of_the_merging_process_hands_the_merge_to_another_worker_without_rerunning_shards() => ProcessCluster.RunAsync(output, "crash-in-merge", async cluster =>
    {
        var tally = new FaultTally("crash of the process doing the merge");
        var api = cluster.AddNode("api", "Api");
        // Concurrency 1: every lease holds one shard, so the last commit hands its worker the merge lease.
        var armed = cluster.AddNode("worker-armed", "Worker",
            new Dictionary<string, string>(ProcessCluster.Armed(("CrashInMerge", "true"))) { ["JobApi__Worker__Concurrency"] = "1" }, mayCrash: true);
        var clean = cluster.AddNode("worker-clean", "Worker");
        await ProcessCluster.StartAllAsync(api, armed);

        const long to = 1_000_000;
        var oracle = PrimeOracle.CountAndSum(to);
        var id = await cluster.SubmitAsync(new { kind = "primes", input = new { from = 0, to }, shards = 4 });
        Assert.True(await armed.WaitForExitAsync(JobTimeout) is not null, "the armed worker did not crash in the merge");
        var clock = Stopwatch.StartNew();
        tally.Inject();
        armed.Reap();
        var atCrash = await cluster.CountersAsync(id);
        output.WriteLine($"merger crashed: {atCrash}; merge lease ttl {await cluster.Db.KeyTimeToLiveAsync(cluster.JobKey(id, "merge"))}");
        Assert.Equal(4, atCrash.Succeeded);
        Assert.Equal("running", atCrash.State);

        await clean.StartAsync();
        await cluster.WaitForFinalAsync(id, JobTimeout);
        tally.Recovered(clock.Elapsed);
        var counters = await cluster.SettleAsync(tally, [id], (_, result) =>
            result.GetProperty("count").GetInt64() == oracle.Count && result.GetProperty("sum").GetInt64() == oracle.Sum, JobTimeout);
        output.WriteLine(tally.Write());
        Assert.Equal(0, tally.JobsLost);
        var c = Assert.Single(counters);
        Assert.Equal(4, c.Commits);
        Assert.Equal(4, c.Attempts); // the merge was redone; no shard ran again
    });
}
