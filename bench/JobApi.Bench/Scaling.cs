using System.Diagnostics;

namespace JobApi.Bench;

/// <summary>
/// <c>JobApi.Bench.dll scaling</c>: the scaling matrix of <c>bench/scaling.sh</c>. For each topology (one redis-server,
/// a 3-primary cluster), repeat and worker count (1, 2, 4 processes of concurrency C), it runs S1(a) (many one-shard
/// noop jobs), S1(b) (one noop job of many shards) and S2 (trial-division shards, submit → result), and records the
/// rate with Redis CPU per primary and the workers' CPU over the same window. Repeats are the outer loop, so a noisy
/// neighbour spreads over the cells instead of spoiling one. Knobs: see bench/README.md.
/// </summary>
public static class Scaling
{
    private const string Prefix = Driver.Prefix;

    public static async Task<int> RunAsync()
    {
        var topologies = List("SCALING_TOPOLOGIES", "single cluster3");
        var workerCounts = List("SCALING_WORKERS", "1 2 4").Select(int.Parse).ToArray();
        var scenarios = List("SCALING_ONLY", "S1a S1b S2");
        var repeats = Driver.Env("SCALING_REPEATS", 3);
        var settings = new ScalingSettings(
            Concurrency: Driver.Env("SCALING_CONCURRENCY", 8), Jobs: Driver.Env("SCALING_N", 20_000),
            Shards: Driver.Env("SCALING_SHARDS", 20_000), FanOutShards: Driver.Env("SCALING_S2_SHARDS", 1_000),
            Partitions: Driver.Env("SCALING_PARTITIONS", 16));
        var outDir = Environment.GetEnvironmentVariable("SCALING_OUT") ?? Path.Combine("bench", "results", "scaling-" + DateTime.UtcNow.ToString("yyyyMMddTHHmmssZ", System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(outDir);
        var results = new Results(Path.Combine(outDir, "results.jsonl"));
        var runs = new List<ScalingRun>();
        var loadBefore = ScalingReport.LoadAverage();
        foreach (var topology in topologies)
        {
            await using var target = await RedisTarget.StartAsync(topology, settings.Partitions);
            await using var probe = await RedisProbe.ConnectAsync(target.ConnectionString, target.Partitions);
            Console.Error.WriteLine($"{topology}: {target.ConnectionString}, {target.Partitions} partition(s)");
            for (var repeat = 1; repeat <= repeats; repeat++)
                foreach (var workers in workerCounts)
                    foreach (var scenario in scenarios)
                    {
                        var cell = new Cell(target, probe, settings, workers, repeat);
                        var run = scenario switch
                        {
                            "S1a" => await ManyJobsAsync(cell),
                            "S1b" => await OneBigJobAsync(cell),
                            "S2" => await FanOutAsync(cell),
                            _ => throw new ArgumentException($"unknown scenario {scenario} (S1a, S1b, S2)"),
                        };
                        runs.Add(run);
                        results.Add(run.Scenario, $"{topology}, workers={workers}", run.Metric, run.Rate, run.Unit, run.Extra());
                    }
        }
        ScalingReport.Write(outDir, runs, settings, repeats, loadBefore);
        Console.Error.WriteLine($"results: {outDir}/table.md");
        return 0;
    }

    private static string[] List(string name, string fallback) =>
        (Environment.GetEnvironmentVariable(name) ?? fallback).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private sealed record Cell(RedisTarget Target, RedisProbe Probe, ScalingSettings Settings, int Workers, int Repeat)
    {
        public Task<ServiceNode> StartAsync(string roles, int concurrency) =>
            ServiceNode.StartAsync(Target.ConnectionString, roles, concurrency, Prefix, Target.Partitions);

        /// <summary>Starts the workers, each frozen once it is up (<see cref="ServiceNode.FreezeAsync"/>).</summary>
        public async Task<ServiceNode[]> StartFrozenWorkersAsync() =>
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(async _ =>
            {
                var worker = await StartAsync("Worker", Settings.Concurrency);
                await worker.FreezeAsync();
                return worker;
            }));
    }

    /// <summary>S1(a): the workers start and freeze, the jobs are queued, then the workers thaw together and the
    /// window runs until the queue is empty.</summary>
    private static async Task<ScalingRun> ManyJobsAsync(Cell cell)
    {
        await cell.Probe.FlushAsync();
        await using var api = await cell.StartAsync("Api", 1);
        var workers = await cell.StartFrozenWorkersAsync();
        using (var http = Driver.Client(api)) await Driver.SubmitManyAsync(http, cell.Settings.Jobs, 32);
        try
        {
            return await MeasureUntilAsync(cell, "S1a", "process_jobs_per_s", "jobs/s", workers,
                remaining: () => cell.Probe.PendingAsync(Prefix));
        }
        finally
        {
            foreach (var w in workers) await w.DisposeAsync();
        }
    }

    /// <summary>S1(b): one job of many shards, queued while the workers are frozen; same window as S1(a), counted in
    /// committed shards.</summary>
    private static async Task<ScalingRun> OneBigJobAsync(Cell cell)
    {
        await cell.Probe.FlushAsync();
        await using var api = await cell.StartAsync("Api", 1);
        var workers = await cell.StartFrozenWorkersAsync();
        string id;
        using (var http = Driver.Client(api)) id = await Driver.PostAsync(http, new { kind = "noop", input = new { }, shards = cell.Settings.Shards });
        try
        {
            // Done when the job has left the pending set (merged and finished), counted in shards.
            return await MeasureUntilAsync(cell, "S1b", "process_shards_per_s", "shards/s", workers,
                remaining: async () => await cell.Probe.PendingAsync(Prefix) == 0 ? 0 : cell.Settings.Shards - await cell.Probe.DoneShardsAsync(Prefix, id));
        }
        finally
        {
            foreach (var w in workers) await w.DisposeAsync();
        }
    }

    private static async Task<ScalingRun> MeasureUntilAsync(Cell cell, string scenario, string metric, string unit, ServiceNode[] workers, Func<Task<long>> remaining)
    {
        var atStart = await remaining();
        var before = await Snapshot.TakeAsync(cell.Probe, workers);
        await Task.WhenAll(workers.Select(w => w.ThawAsync()));
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (await remaining() > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{scenario} did not finish within 5 minutes");
            await Task.Delay(10);
        }
        return await before.RunSinceAsync(cell.Probe, workers, scenario, metric, unit, cell, atStart);
    }

    /// <summary>S2: the workers are up first; one job of trial-division shards from submit to the result read back
    /// (a warm-up job of 50 shards before), its sum checked against the known count of primes below 20,000.</summary>
    private static async Task<ScalingRun> FanOutAsync(Cell cell)
    {
        await cell.Probe.FlushAsync();
        await using var api = await cell.StartAsync("Api", 1);
        var workers = await cell.StartFrozenWorkersAsync();
        try
        {
            await Task.WhenAll(workers.Select(w => w.ThawAsync()));
            using var http = Driver.Client(api);
            await Driver.RunFanOutAsync(http, 50);
            var before = await Snapshot.TakeAsync(cell.Probe, workers);
            var shards = cell.Settings.FanOutShards;
            var sum = await Driver.RunFanOutAsync(http, shards);
            if (sum != 2262L * shards) throw new InvalidOperationException($"S2: sum {sum}, expected {2262L * shards}");
            return await before.RunSinceAsync(cell.Probe, workers, "S2", "fanout_shards_per_s", "shards/s", cell, shards);
        }
        finally
        {
            foreach (var w in workers) await w.DisposeAsync();
        }
    }

    /// <summary>CPU of every primary and every worker process, and the clock, at the start of a window (command
    /// statistics are reset at the same moment).</summary>
    private sealed record Snapshot(Stopwatch Clock, double[] RedisCpu, double WorkerCpu)
    {
        public static async Task<Snapshot> TakeAsync(RedisProbe probe, ServiceNode[] workers)
        {
            await probe.ResetStatsAsync();
            var redis = await probe.CpuSecondsPerPrimaryAsync();
            return new Snapshot(Stopwatch.StartNew(), redis, workers.Sum(w => w.CpuSeconds));
        }

        public async Task<ScalingRun> RunSinceAsync(RedisProbe probe, ServiceNode[] workers, string scenario, string metric, string unit, Cell cell, long units)
        {
            var seconds = Clock.Elapsed.TotalSeconds;
            var workerCpu = workers.Sum(w => w.CpuSeconds) - WorkerCpu;
            var redis = (await probe.CpuSecondsPerPrimaryAsync()).Zip(RedisCpu, (now, then) => now - then).ToArray();
            var (commands, scripts) = await probe.CommandCountsAsync();
            return new ScalingRun(scenario, metric, unit, cell.Target.Topology, cell.Workers, cell.Settings.Concurrency, cell.Repeat,
                units, seconds, redis, workerCpu, commands, scripts, ScalingReport.LoadAverage());
        }
    }
}
