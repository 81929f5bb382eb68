using System.Globalization;
using System.Text;

namespace JobApi.Bench;

public sealed record ScalingSettings(int Concurrency, int Jobs, int Shards, int FanOutShards, int Partitions);

/// <summary>One measured cell run: <see cref="Units"/> (jobs or shards) done in <see cref="Seconds"/>, with the CPU
/// each primary and all worker processes spent in the same window, and the commands Redis ran.</summary>
public sealed record ScalingRun(
    string Scenario, string Metric, string Unit, string Topology, int Workers, int Concurrency, int Repeat,
    long Units, double Seconds, double[] RedisCpu, double WorkerCpu, long Commands, long Scripts, double Load1)
{
    public double Rate => Units / Seconds;
    public double[] RedisCores => RedisCpu.Select(c => c / Seconds).ToArray();
    public double WorkerCores => WorkerCpu / Seconds;

    public object Extra() => new
    {
        topology = Topology, workers = Workers, concurrency = Concurrency, repeat = Repeat, units = Units,
        seconds = Math.Round(Seconds, 3),
        redis_cpu_cores_per_primary = RedisCores.Select(c => Math.Round(c, 3)).ToArray(),
        worker_cpu_cores = Math.Round(WorkerCores, 3),
        redis_cpu_us_per_unit = Math.Round(RedisCpu.Sum() * 1e6 / Units, 2),
        worker_cpu_us_per_unit = Math.Round(WorkerCpu * 1e6 / Units, 2),
        redis_commands_per_unit = Math.Round((double)Commands / Units, 2),
        script_calls_per_unit = Math.Round((double)Scripts / Units, 3),
        load1 = Load1,
    };
}

/// <summary>The markdown table of a scaling run: per scenario, topology and worker count, the median rate over the
/// repeats with its spread (min-max), the speed-up over one worker on the same topology, and where the CPU went.</summary>
public static class ScalingReport
{
    public static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    public static void Write(string dir, IReadOnlyList<ScalingRun> runs, ScalingSettings s, int repeats, double loadBefore)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine(inv, $"# Scaling run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine(inv, $"{Environment.ProcessorCount} CPUs; load average (1 min) {loadBefore:F2} before, {LoadAverage():F2} after. ");
        md.AppendLine(inv, $"Worker processes of concurrency {s.Concurrency}; S1(a) {s.Jobs:N0} one-shard noop jobs; S1(b) one noop job of {s.Shards:N0} shards; " +
                         $"S2 {s.FanOutShards:N0} trial-division shards (primes below 20,000 each). Cluster: 3 primaries, no replicas, {s.Partitions} queue partitions; " +
                         $"single: one redis-server, 1 partition. No persistence. {repeats} repeat(s) per cell, interleaved.");
        md.AppendLine();
        md.AppendLine("| scenario | Redis | workers | median rate | min-max | × 1 worker | Redis CPU per primary (cores) | workers' CPU (cores) | Redis µs / unit | commands / unit | scripts / unit | load1 |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (var group in runs.GroupBy(r => (r.Scenario, r.Topology, r.Workers)).OrderBy(g => g.Key.Scenario, StringComparer.Ordinal))
        {
            var cell = group.ToList();
            var rate = Median(cell.Select(r => r.Rate));
            var one = runs.Where(r => r.Scenario == group.Key.Scenario && r.Topology == group.Key.Topology && r.Workers == 1).Select(r => r.Rate).ToList();
            var speedUp = one.Count == 0 ? "" : (rate / Median(one)).ToString("F2", inv);
            var primaries = Enumerable.Range(0, cell[0].RedisCores.Length).Select(i => Median(cell.Select(r => r.RedisCores[i])).ToString("F2", inv));
            md.AppendLine(inv, $"| {group.Key.Scenario} | {group.Key.Topology} | {group.Key.Workers} | {rate:F0} {cell[0].Unit} | {cell.Min(r => r.Rate):F0}-{cell.Max(r => r.Rate):F0} | {speedUp} | " +
                             $"{string.Join(" / ", primaries)} | {Median(cell.Select(r => r.WorkerCores)):F2} | {Median(cell.Select(r => r.RedisCpu.Sum() * 1e6 / r.Units)):F1} | " +
                             $"{Median(cell.Select(r => (double)r.Commands / r.Units)):F1} | {Median(cell.Select(r => (double)r.Scripts / r.Units)):F3} | {Median(cell.Select(r => r.Load1)):F1} |");
        }
        File.WriteAllText(Path.Combine(dir, "table.md"), md.ToString());
        Console.WriteLine(md.ToString());
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
