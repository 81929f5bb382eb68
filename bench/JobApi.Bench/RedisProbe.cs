using System.Globalization;
using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.Bench;

/// <summary>What the driver reads from Redis directly: FLUSHALL between scenarios, CPU and command counts (summed over
/// every primary, or per primary), queue depth over every partition, and the Redis-clock start/finish times the engine
/// records on each job. Works on one redis-server and on a Redis Cluster alike.</summary>
public sealed class RedisProbe(ConnectionMultiplexer redis, int partitions) : IAsyncDisposable
{
    public IDatabase Db => redis.GetDatabase();

    public static async Task<RedisProbe> ConnectAsync(string connectionString, int partitions = 1) =>
        new(await ConnectionMultiplexer.ConnectAsync(connectionString + ",allowAdmin=true"), partitions);

    /// <summary>The primaries, in a stable order (by port), so per-primary figures line up between readings.</summary>
    public IServer[] Primaries => redis.GetServers().Where(s => !s.IsReplica).OrderBy(s => s.EndPoint.ToString(), StringComparer.Ordinal).ToArray();

    public async Task FlushAsync()
    {
        foreach (var server in Primaries) await server.FlushAllDatabasesAsync();
    }

    public async Task ResetStatsAsync()
    {
        foreach (var server in Primaries) await server.ConfigResetStatisticsAsync();
    }

    /// <summary>used_cpu_sys + used_cpu_user of redis-server, in seconds, summed over the primaries.</summary>
    public async Task<double> CpuSecondsAsync() => (await CpuSecondsPerPrimaryAsync()).Sum();

    /// <summary>used_cpu_sys + used_cpu_user of each primary, in seconds.</summary>
    public async Task<double[]> CpuSecondsPerPrimaryAsync()
    {
        var primaries = Primaries;
        var cpu = new double[primaries.Length];
        for (var i = 0; i < primaries.Length; i++)
        {
            var info = (await primaries[i].InfoAsync("cpu")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
            cpu[i] = double.Parse(info["used_cpu_sys"], CultureInfo.InvariantCulture) + double.Parse(info["used_cpu_user"], CultureInfo.InvariantCulture);
        }
        return cpu;
    }

    /// <summary>Calls per command since the last RESETSTAT (commands inside scripts included), summed over the primaries.</summary>
    public async Task<Dictionary<string, long>> CommandStatsAsync()
    {
        var sum = new Dictionary<string, long>();
        foreach (var server in Primaries)
            foreach (var p in (await server.InfoAsync("commandstats")).SelectMany(g => g))
            {
                var name = p.Key.Replace("cmdstat_", "", StringComparison.Ordinal);
                sum[name] = sum.GetValueOrDefault(name) + long.Parse(p.Value.Split(',')[0].Split('=')[1], CultureInfo.InvariantCulture);
            }
        return sum;
    }

    /// <summary>Commands (without CONFIG and INFO, the probe's own) and script calls since the last RESETSTAT.</summary>
    public async Task<(long Commands, long Scripts)> CommandCountsAsync()
    {
        var stats = await CommandStatsAsync();
        var total = stats.Where(s => !s.Key.StartsWith("config", StringComparison.Ordinal) && !s.Key.StartsWith("info", StringComparison.Ordinal)).Sum(s => s.Value);
        return (total, stats.GetValueOrDefault("evalsha") + stats.GetValueOrDefault("eval"));
    }

    /// <summary>Unfinished jobs, summed over every queue partition.</summary>
    public async Task<long> PendingAsync(string prefix)
    {
        var keys = new RedisKeys(prefix, partitions);
        var batch = Db.CreateBatch();
        var reads = Enumerable.Range(0, partitions).Select(p => batch.SortedSetLengthAsync(keys.Pending(p))).ToArray();
        batch.Execute();
        return (await Task.WhenAll(reads)).Sum();
    }

    /// <summary>Committed shards of one job.</summary>
    public async Task<long> DoneShardsAsync(string prefix, string jobId) => await Db.HashLengthAsync(new RedisKeys(prefix).Job(jobId).Done);

    /// <summary>Earliest startedAt and latest finishedAt (Redis clock, ms) over every job of the prefix, all partitions.</summary>
    public async Task<(double First, double Last)> WindowAsync(string prefix)
    {
        var keys = new RedisKeys(prefix, partitions);
        var ids = new List<RedisValue>();
        for (var p = 0; p < partitions; p++) ids.AddRange(await Db.SortedSetRangeByRankAsync(keys.JobIndex(p)));
        var batch = Db.CreateBatch();
        var reads = ids.Select(id => batch.HashGetAsync(keys.Job(id!).Job, ["startedAt", "finishedAt"])).ToArray();
        batch.Execute();
        double first = double.MaxValue, last = 0;
        foreach (var read in reads)
        {
            var v = await read;
            if (v[0].IsNull || v[1].IsNull) continue;
            first = Math.Min(first, (double)v[0]);
            last = Math.Max(last, (double)v[1]);
        }
        return (first, last);
    }

    public ValueTask DisposeAsync() => redis.DisposeAsync();
}
