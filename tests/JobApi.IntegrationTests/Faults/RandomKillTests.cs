using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// SIGKILL a random worker at a random moment, again and again (50 kills in CI mode, 500 with JOBAPI_SOAK=1),
/// restarting it each time, while jobs keep arriving. Every job must end succeeded with its exact result and
/// every shard must be committed exactly once; raw executions may repeat.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class RandomKillTests(ITestOutputHelper output)
{
    private const long PrimesTo = 20_000_000;
    private const int NoopShards = 12;

    [Fact]
    public Task Random_worker_kills_lose_no_job_and_commit_no_shard_twice() => ProcessCluster.RunAsync(output, "random-kill", async cluster =>
    {
        var kills = FaultMode.Scale(50, 500);
        var tally = new FaultTally("worker SIGKILL at random moments");
        var oracle = PrimeOracle.CountAndSum(PrimesTo);
        // A short lease and a short retry backoff: an interrupted shard is free again after about a second, and a shard
        // interrupted many times does not sit out a long exponential backoff (what is tested is loss and duplication).
        var workerSettings = new Dictionary<string, string>
        {
            ["JobApi__Worker__Concurrency"] = "2", ["JobApi__Worker__LeaseTtl"] = "00:00:01", ["JobApi__Worker__RetryBackoff"] = "00:00:00.010",
        };
        var api = cluster.AddNode("api", "Api");
        var workers = Enumerable.Range(1, 3).Select(i => cluster.AddNode($"worker-{i}", "Worker", workerSettings)).ToArray();
        await ProcessCluster.StartAllAsync([api, .. workers]);

        var random = new Random(FaultMode.Soak ? Environment.TickCount : 20260101);
        var restarts = workers.ToDictionary(w => w, _ => Task.CompletedTask);
        var recoveries = new List<Task>();
        var ids = new List<string>();
        var noopIds = new HashSet<string>();
        var killed = 0;
        var interruptedKills = 0;
        while (killed < kills)
        {
            if (killed % 2 == 0 && ids.Count - await FinishedCountAsync(cluster, ids) < 8)
            {
                var noop = ids.Count % 2 == 0;
                var id = noop
                    ? await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = random.Next(100, 400) }, shards = NoopShards, maxAttempts = 20 })
                    : await cluster.SubmitAsync(new { kind = "primes", input = new { from = 0, to = PrimesTo }, shards = 16, maxAttempts = 20 });
                ids.Add(id);
                if (noop) noopIds.Add(id);
            }
            await Task.Delay(random.Next(50, 400));
            var ready = workers.Where(w => restarts[w].IsCompleted).ToArray();
            if (ready.Length == 0)
            {
                await Task.WhenAny(restarts.Values);
                continue;
            }
            foreach (var w in ready) await restarts[w]; // a failed restart fails the test here
            var victim = ready[random.Next(ready.Length)];
            var workerId = victim.WorkerId;
            victim.Kill();
            killed++;
            tally.Inject();
            // The dead worker's leases stay in Redis until they run out: exactly the shards this kill interrupted.
            var held = await cluster.HeldByAsync(ids, workerId);
            if (held.Count > 0)
            {
                interruptedKills++;
                recoveries.Add(cluster.WatchRecoveryAsync(tally, held, TimeSpan.FromSeconds(120)));
            }
            restarts[victim] = victim.StartAsync();
        }
        await Task.WhenAll(restarts.Values);
        await Task.WhenAll(recoveries);

        var counters = await cluster.SettleAsync(tally, ids, (id, result) => noopIds.Contains(id)
            ? result.GetProperty("shards").GetInt32() == NoopShards
            : result.GetProperty("count").GetInt64() == oracle.Count && result.GetProperty("sum").GetInt64() == oracle.Sum,
            TimeSpan.FromSeconds(120));
        var line = tally.Write(new Dictionary<string, object> { ["killsThatInterruptedShards"] = interruptedKills, ["jobs"] = ids.Count });
        output.WriteLine(line);
        output.WriteLine($"{killed} kills, {interruptedKills} of them with shards in hand; {ids.Count} jobs; " +
                         $"raw executions {tally.Attempts}, commits {tally.Commits} of {tally.Shards} shards");

        Assert.Equal(0, tally.JobsLost);
        Assert.Equal(0, tally.DuplicateCommits);
        Assert.All(counters, c => Assert.Equal(c.Total, c.Commits));
        Assert.True(interruptedKills >= kills / 5, $"only {interruptedKills} of {kills} kills caught a worker with shards in hand");
        Assert.True(tally.Attempts > tally.Commits, "no shard ever ran twice: the kills interrupted nothing");
    });

    private static async Task<int> FinishedCountAsync(ProcessCluster cluster, List<string> ids)
    {
        var finished = 0;
        foreach (var id in ids)
            if ((await cluster.CountersAsync(id)).State is "succeeded" or "failed" or "canceled") finished++;
        return finished;
    }
}
