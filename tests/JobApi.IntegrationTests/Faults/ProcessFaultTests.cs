using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>Fault tests start and kill real processes and wait out lease TTLs: they run alone, one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultCollection
{
    public const string Name = "faults";
}

/// <summary>
/// The contract's guarantees under real faults: the real binary runs as separate API and worker processes
/// against a private redis-server, and the tests SIGKILL, SIGSTOP and restart them. Each test counts raw
/// shard executions (<c>attempts</c>) apart from accepted commits (<c>commits</c>): executions may repeat,
/// commits never do.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class ProcessFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public Task Worker_killed_mid_shard_job_still_succeeds_with_exact_result() => ProcessCluster.RunAsync(output, "kill-worker", async cluster =>
    {
        const long to = 200_000_000;
        const long knownPrimeCount = 11_078_937; // pi(2*10^8), a published value
        var oracle = Task.Run(() => PrimeOracle.CountAndSum(to));
        var workerSettings = new Dictionary<string, string> { ["JobApi__Worker__Concurrency"] = "2", ["JobApi__Worker__LeaseTtl"] = "00:00:02" };
        var api = cluster.AddNode("api", "Api");
        ServiceProcess[] workers = [cluster.AddNode("worker-1", "Worker", workerSettings), cluster.AddNode("worker-2", "Worker", workerSettings)];
        await ProcessCluster.StartAllAsync([api, .. workers]);

        var id = "";
        ServiceProcess? victim = null;
        int[] interrupted = [];
        // On a fast machine a job may finish before a worker is caught with shards in hand: then take a fresh one.
        for (var round = 1; victim is null; round++)
        {
            Assert.True(round <= 3, "three jobs finished before a worker could be caught holding a shard");
            id = await cluster.SubmitAsync(new { kind = "primes", input = new { from = 0, to }, shards = 40, maxAttempts = 10 });
            (victim, interrupted) = await CatchWorkerHoldingShardsAsync(cluster, id, workers);
        }
        // Frozen with shards in hand, so the SIGKILL certainly interrupts work; then a fresh process takes its place.
        output.WriteLine($"SIGKILL {victim!.Name} (pid {victim.Pid}) while it held shards [{string.Join(", ", interrupted)}]");
        var tally = new FaultTally("worker SIGKILL with shards in hand (frozen first)");
        var heldShards = await cluster.HeldByAsync([id], victim.WorkerId);
        victim.Kill();
        tally.Inject();
        var recovery = cluster.WatchRecoveryAsync(tally, heldShards, JobTimeout);
        await victim.StartAsync();

        var final = await cluster.WaitForFinalAsync(id, JobTimeout);
        await recovery;
        Assert.Equal("succeeded", final.GetProperty("state").GetString());
        var result = await cluster.ResultAsync(id);
        var (oracleCount, oracleSum) = await oracle;
        output.WriteLine($"result count={result.GetProperty("count")} sum={result.GetProperty("sum")}; oracle count={oracleCount} sum={oracleSum}");
        Assert.Equal(knownPrimeCount, oracleCount);
        Assert.Equal(knownPrimeCount, result.GetProperty("count").GetInt64());
        Assert.Equal(oracleSum, result.GetProperty("sum").GetInt64());

        var counters = await cluster.ReportAsync("killed worker", id);
        tally.Job(counters);
        output.WriteLine(tally.Write());
        Assert.Equal(40, counters.Total);
        Assert.Equal(counters.Total, counters.Succeeded);
        Assert.Equal(counters.Total, counters.Commits);
        // Every shard the dead worker held ran again: raw executions exceed commits by at least that many.
        Assert.True(counters.Attempts >= counters.Total + interrupted.Length,
            $"attempts {counters.Attempts} < total {counters.Total} + {interrupted.Length} interrupted shards");
        var reRun = (await cluster.ShardsAsync(id)).Where(s => interrupted.Contains(s.GetProperty("index").GetInt32())).ToArray();
        Assert.All(reRun, s => Assert.True(s.GetProperty("attempts").GetInt32() >= 2, $"shard {s} did not run again"));
    });

    [Fact]
    public Task Stalled_worker_cannot_commit_after_its_lease_was_taken_over() => ProcessCluster.RunAsync(output, "stall", async cluster =>
    {
        var workerSettings = new Dictionary<string, string> { ["JobApi__Worker__Concurrency"] = "1", ["JobApi__Worker__LeaseTtl"] = "00:00:01" };
        var api = cluster.AddNode("api", "Api");
        var stalled = cluster.AddNode("worker-a", "Worker", workerSettings);
        var rescuer = cluster.AddNode("worker-b", "Worker", workerSettings);
        await ProcessCluster.StartAllAsync(api, stalled);

        var id = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 3000 }, shards = 1, maxAttempts = 3 });
        await WaitForShardAsync(cluster, id, 0, s => s.Worker == stalled.WorkerId && s.State == "running");
        // The shard's own start (Redis's clock, this machine's): on a loaded host the poll above can see it running
        // late, and timing the freeze from that sight could land it after the sleep ended.
        var started = (await cluster.ShardsAsync(id))[0].GetProperty("startedAt").GetDateTime();

        // Freeze it near the end of its 3 s sleep: when it wakes, the sleep is over at once and it goes straight
        // to its commit, racing its own lease renewal. The one fixed wait here places the freeze inside the sleep.
        await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, 2300 - (DateTime.UtcNow - started).TotalMilliseconds)));
        stalled.Stop();
        var tally = new FaultTally("worker SIGSTOP past its lease TTL, then SIGCONT (fenced commit)");
        tally.Inject();
        var stalledAt = Stopwatch.StartNew();
        await rescuer.StartAsync();
        await WaitForShardAsync(cluster, id, 0, s => s.Worker == rescuer.WorkerId && s.State == "running" && s.Attempts == 2);
        stalled.Continue();

        const string refused = "refused for 1 shard(s): the lease was lost or taken over";
        var lost = $"Lease {id}/1 lost";
        await ProcessCluster.WaitAsync("the stalled worker notices it lost the shard", () =>
            Task.FromResult(stalled.LogContains(refused) || stalled.LogContains(lost)), TimeSpan.FromSeconds(10));

        var final = await cluster.WaitForFinalAsync(id, JobTimeout);
        Assert.Equal("succeeded", final.GetProperty("state").GetString());
        Assert.Equal(1, (await cluster.ResultAsync(id)).GetProperty("shards").GetInt32());
        output.WriteLine($"stalled worker's log: commit refused={stalled.LogContains(refused)}, lease lost={stalled.LogContains(lost)}");
        var counters = await cluster.ReportAsync("stalled worker", id);
        tally.Recovered(stalledAt.Elapsed);
        tally.Job(counters);
        output.WriteLine(tally.Write(new Dictionary<string, object> { ["lateCommitRefused"] = stalled.LogContains(refused) }));
        Assert.Equal(1, counters.Total);
        Assert.Equal(1, counters.Commits);
        Assert.Equal(2, counters.Attempts);
        Assert.Equal(1, counters.Succeeded);
    });

    [Fact]
    public Task Cancel_while_a_worker_holds_shards_ahead_of_its_slot_drops_each_once_and_frees_the_worker() =>
        ProcessCluster.RunAsync(output, "cancel-ahead", async cluster =>
    {
        var api = cluster.AddNode("api", "Api");
        var worker = cluster.AddNode("worker", "Worker", new Dictionary<string, string> { ["JobApi__Worker__Concurrency"] = "1" });
        await ProcessCluster.StartAllAsync(api, worker);
        // The worker holds several 4 s shards of one job: one runs, the others wait ahead of the slot.
        var tally = new FaultTally("cancel while a worker holds shards ahead of its slot");
        var (id, held) = await cluster.HoldShardsAheadAsync(tally, worker, shards: 6, sleepMs: 4000, JobTimeout);

        var clock = Stopwatch.StartNew();
        using (var cancel = await cluster.Http.PostAsync($"/v1/jobs/{id}/cancel", null)) Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        // Each shard it held is given up once: the running one stops, those ahead of the slot are dropped unrun.
        string Abandoned(int index) => $"Shard {id}/{index} abandoned";
        await ProcessCluster.WaitAsync("the worker gives up every shard it held", () =>
            Task.FromResult(held.All(h => worker.LogContains(Abandoned(h.Index)))), TimeSpan.FromSeconds(10));
        foreach (var (_, index) in held)
            Assert.Single(worker.Log.Split('\n'), line => line.Contains(Abandoned(index), StringComparison.Ordinal));
        // Its slot is free for the next job at once, not after the 4 s shards held ahead.
        var next = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 1 }, shards = 1 });
        Assert.Equal("succeeded", (await cluster.WaitForFinalAsync(next, TimeSpan.FromSeconds(3))).GetProperty("state").GetString());
        var freed = clock.Elapsed;

        var counters = await cluster.CountersAsync(id);
        output.WriteLine($"held {held.Count}; next job done {freed.TotalMilliseconds:F0} ms after the cancel; {counters}");
        Assert.Equal("canceled", counters.State);
        Assert.Equal(0, counters.Commits);
        Assert.Empty(await cluster.HeldByAsync([id], worker.WorkerId));
    });

    [Fact]
    public Task Node_killed_while_its_worker_runs_a_job_held_from_its_submit_the_job_is_run_again_elsewhere_and_committed_once() =>
        ProcessCluster.RunAsync(output, "kill-held-at-submit", async cluster =>
    {
        var api = cluster.AddNode("api", "Api");
        var both = cluster.AddNode("both", "Api,Worker");
        var rescuer = cluster.AddNode("worker", "Worker");
        await ProcessCluster.StartAllAsync(api, both, rescuer);
        using var http = new HttpClient { BaseAddress = both.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

        // A lone job submitted to the node with both roles while its worker is idle starts held by that worker (its
        // submit answers "running"); the first submits may come before the worker is up.
        JsonElement status = default;
        for (var round = 1; ; round++)
        {
            using var response = await http.PostAsJsonAsync("/v1/jobs", new { kind = "noop", input = new { sleepMs = 5000 }, shards = 1, maxAttempts = 3 });
            status = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            if (status.GetProperty("state").GetString() == "running") break;
            Assert.True(round <= 20, $"no submit was held by the node's own worker: {status}");
            await cluster.Http.PostAsync($"/v1/jobs/{status.GetProperty("id").GetString()}/cancel", null);
            await Task.Delay(250);
        }
        var id = status.GetProperty("id").GetString()!;
        Assert.True(await cluster.IsHoldAsync(id, "1"), "the job should be under its hold, fence 1");
        Assert.StartsWith(both.WorkerId + "|", (string?)await cluster.Db.HashGetAsync(cluster.JobKey(id, "job"), "holdBy"));

        both.Kill();
        var tally = new FaultTally("SIGKILL of the node whose worker holds a job from its submit");
        tally.Inject();
        var killedAt = Stopwatch.StartNew();
        var final = await cluster.WaitForFinalAsync(id, JobTimeout);
        tally.Recovered(killedAt.Elapsed);
        Assert.Equal("succeeded", final.GetProperty("state").GetString());
        Assert.Equal(1, (await cluster.ResultAsync(id)).GetProperty("shards").GetInt32());
        var shard = (await cluster.ShardsAsync(id))[0];
        Assert.Equal(rescuer.WorkerId, shard.GetProperty("worker").GetString());
        var counters = await cluster.ReportAsync("held from its submit, holder killed", id);
        tally.Job(counters);
        output.WriteLine(tally.Write());
        Assert.Equal(1, counters.Commits);
        Assert.Equal(2, counters.Attempts); // the killed run and the rescuer's
        Assert.Equal(1, counters.Succeeded);
    });

    [Fact]
    public Task Service_restart_finishes_queued_jobs() => ProcessCluster.RunAsync(output, "restart-service", async cluster =>
    {
        var service = cluster.AddNode("service", "Api,Worker", new Dictionary<string, string> { ["JobApi__Worker__Concurrency"] = "4" });
        await service.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add(await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 100 }, shards = 20 }));

        await ProcessCluster.WaitAsync("some shards have run and some are running", async () =>
        {
            var counters = await Task.WhenAll(ids.Select(cluster.CountersAsync));
            return counters.Sum(c => c.Succeeded) >= 10 && counters.Any(c => c.State == "running");
        }, TimeSpan.FromSeconds(30));
        service.Kill();
        var tally = new FaultTally("SIGKILL of a node running API and worker, then restart");
        tally.Inject();
        var killedAt = Stopwatch.StartNew();
        var atKill = await Task.WhenAll(ids.Select(cluster.CountersAsync));
        var unfinished = atKill.Count(c => c.State is not ("succeeded" or "failed" or "canceled"));
        output.WriteLine($"SIGKILL with {unfinished} unfinished jobs, {atKill.Sum(c => c.Succeeded)} of {atKill.Sum(c => c.Total)} shards done");
        Assert.True(unfinished > 0, "every job had finished before the kill");

        await service.StartAsync();
        foreach (var id in ids)
        {
            var final = await cluster.WaitForFinalAsync(id, JobTimeout);
            Assert.Equal("succeeded", final.GetProperty("state").GetString());
            Assert.Equal(20, (await cluster.ResultAsync(id)).GetProperty("shards").GetInt32());
            var counters = await cluster.ReportAsync("after restart", id);
            tally.Job(counters);
            Assert.Equal(20, counters.Total);
            Assert.Equal(counters.Total, counters.Commits);
            Assert.True(counters.Attempts >= counters.Total);
        }
        tally.Recovered(killedAt.Elapsed);
        output.WriteLine(tally.Write());
    });

    [Fact]
    public Task Redis_restarted_with_appendfsync_always_keeps_every_accepted_job() => ProcessCluster.RunAsync(output, "restart-redis", async cluster =>
    {
        var service = cluster.AddNode("service", "Api,Worker", new Dictionary<string, string> { ["JobApi__Worker__Concurrency"] = "4" });
        await service.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++) ids.Add(await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 200 }, shards = 10 }));
        await ProcessCluster.WaitAsync("the first shards are done", async () => (await cluster.CountersAsync(ids[0])).Succeeded >= 1, TimeSpan.FromSeconds(30));
        ids.Add(await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 200 }, shards = 10 })); // accepted right before the crash

        cluster.KillRedis();
        var tally = new FaultTally("Redis SIGKILL + restart, appendfsync always");
        tally.Inject();
        var killedAt = Stopwatch.StartNew();
        await ProcessCluster.WaitAsync("the node reports not ready while Redis is down", async () =>
        {
            try
            {
                using var response = await cluster.Http.GetAsync("/health/ready");
                return response.StatusCode == HttpStatusCode.ServiceUnavailable;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20));
        await cluster.RestartRedisAsync();

        foreach (var id in ids)
        {
            var final = await cluster.WaitForFinalAsync(id, JobTimeout);
            Assert.Equal("succeeded", final.GetProperty("state").GetString());
            Assert.Equal(10, (await cluster.ResultAsync(id)).GetProperty("shards").GetInt32());
            var counters = await cluster.ReportAsync("after redis restart", id);
            tally.Job(counters);
            Assert.Equal(10, counters.Total);
            Assert.Equal(counters.Total, counters.Commits);
            Assert.True(counters.Attempts >= counters.Total);
        }
        tally.Recovered(killedAt.Elapsed);
        output.WriteLine(tally.Write());
    });

    [Fact]
    public Task Lease_deleted_behind_the_workers_back_is_noticed_and_its_shards_rerun_once() => ProcessCluster.RunAsync(output, "lease-deleted", async cluster =>
    {
        var service = cluster.AddNode("service", "Api,Worker", new Dictionary<string, string>
        {
            ["JobApi__Worker__Concurrency"] = "2", ["JobApi__Worker__LeaseTtl"] = "00:00:01.500",
        });
        await service.StartAsync();
        // Shards of 5 s: the test must see shard 0 running and delete its lease before it ends, also on a loaded machine
        // (with 2.5 s, one full run saw the shard only once it had succeeded).
        var id = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 5000 }, shards = 2, maxAttempts = 3 });
        await WaitForShardAsync(cluster, id, 0, s => s.State == "running");

        // One lease covers every shard a lease call handed out; all of them lose it together.
        var fence = await cluster.FenceOfAsync(id, 0);
        var inflight = await cluster.Db.HashGetAllAsync(cluster.JobKey(id, "inflight"));
        var underLease = inflight.Count(e => e.Value == fence);
        var tally = new FaultTally("lease key deleted behind the worker's back");
        var interrupted = await cluster.HeldByAsync([id], service.WorkerId);
        Assert.True(await cluster.Db.KeyDeleteAsync(await cluster.LeaseKeyAsync(id, 0)), "the lease key was not there to delete");
        tally.Inject();
        var recovery = cluster.WatchRecoveryAsync(tally, interrupted, JobTimeout);
        await ProcessCluster.WaitAsync("the worker notices at its next renewal", () =>
            Task.FromResult(service.LogContains($"Lease {id}/{fence} lost")), TimeSpan.FromSeconds(5));

        var final = await cluster.WaitForFinalAsync(id, JobTimeout);
        Assert.Equal("succeeded", final.GetProperty("state").GetString());
        output.WriteLine($"worker abandoned the shard: {service.LogContains($"Shard {id}/0 abandoned: LeaseLost")}");
        await recovery;
        var counters = await cluster.ReportAsync("deleted lease", id);
        tally.Job(counters);
        output.WriteLine(tally.Write());
        Assert.Equal(2, counters.Total);
        Assert.Equal(counters.Total, counters.Commits);
        Assert.Equal(counters.Total + underLease, counters.Attempts);
        var shards = await cluster.ShardsAsync(id);
        Assert.Equal(2, shards[0].GetProperty("attempts").GetInt32());
        Assert.Equal(counters.Attempts, shards.Sum(s => s.GetProperty("attempts").GetInt32()));
    });

    /// <summary>Catches a worker with shards in hand: freezes it (so it cannot finish them meanwhile), lets the
    /// commands it had already sent land, and looks again. Returns null when the job finished first.</summary>
    private static async Task<(ServiceProcess? Victim, int[] Held)> CatchWorkerHoldingShardsAsync(ProcessCluster cluster, string jobId, ServiceProcess[] workers)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var shards = await cluster.ShardsAsync(jobId);
            if (shards.Count > 0 && shards.All(s => s.GetProperty("state").GetString() == "succeeded")) return (null, []);
            var holder = shards.Where(s => s.GetProperty("state").GetString() == "running").Select(s => s.GetProperty("worker").GetString()).FirstOrDefault();
            var candidate = workers.FirstOrDefault(w => w.WorkerId == holder);
            if (candidate is null)
            {
                await Task.Delay(10);
                continue;
            }
            candidate.Stop();
            await Task.Delay(300);
            var held = (await cluster.ShardsAsync(jobId))
                .Where(s => s.GetProperty("state").GetString() == "running" && s.GetProperty("worker").GetString() == candidate.WorkerId)
                .Select(s => s.GetProperty("index").GetInt32()).ToArray();
            if (held.Length > 0) return (candidate, held);
            candidate.Continue();
        }
        throw new TimeoutException($"No worker was caught holding a shard of {jobId} within 30 s.");
    }

    private sealed record Shard(string State, int Attempts, string? Worker);

    private static async Task WaitForShardAsync(ProcessCluster cluster, string jobId, int index, Func<Shard, bool> condition)
    {
        Shard? last = null;
        await ProcessCluster.WaitAsync($"shard {index} of {jobId} is in the expected state", async () =>
        {
            var shards = await cluster.ShardsAsync(jobId);
            if (shards.Count <= index) return false;
            var s = shards[index];
            last = new Shard(s.GetProperty("state").GetString()!, s.GetProperty("attempts").GetInt32(),
                s.GetProperty("worker").ValueKind == JsonValueKind.String ? s.GetProperty("worker").GetString() : null);
            return condition(last);
        }, TimeSpan.FromSeconds(20), () => last?.ToString() ?? "(no shard)");
    }
}
