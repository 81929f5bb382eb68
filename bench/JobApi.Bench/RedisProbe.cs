using System.Globalization;
using StackExchange.Redis;

namespace JobApi.Bench;

/// <summary>What the driver reads from Redis directly: FLUSHALL between scenarios, CPU and command counts,
/// and the Redis-clock start/finish times the engine records on each job.</summary>
public sealed class RedisProbe(ConnectionMultiplexer redis, int port) : IAsyncDisposable
{
    public IDatabase Db => redis.GetDatabase();

    public static async Task<RedisProbe> ConnectAsync(int port) =>
        new(await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true"), port);

    public async Task FlushAsync() => await redis.GetServer("127.0.0.1", port).FlushAllDatabasesAsync();

    public async Task ResetStatsAsync() => await Db.ExecuteAsync("CONFIG", "RESETSTAT");

    /// <summary>used_cpu_sys + used_cpu_user of redis-server, in seconds.</summary>
    public async Task<double> CpuSecondsAsync()
    {
        var info = await redis.GetServer("127.0.0.1", port).InfoAsync("cpu");
        var cpu = info.SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        return double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture);
    }

    /// <summary>Calls per command since the last RESETSTAT (commands inside scripts included).</summary>
    public async Task<Dictionary<string, long>> CommandStatsAsync()
    {
        var info = await redis.GetServer("127.0.0.1", port).InfoAsync("commandstats");
        return info.SelectMany(g => g).ToDictionary(
            p => p.Key.Replace("cmdstat_", "", StringComparison.Ordinal),
            p => long.Parse(p.Value.Split(',')[0].Split('=')[1], CultureInfo.InvariantCulture));
    }

    public async Task<long> PendingAsync(string prefix) => await Db.SortedSetLengthAsync(new Engine.RedisKeys(prefix).Pending(0));

    /// <summary>Earliest startedAt and latest finishedAt (Redis clock, ms) over every job of the prefix.</summary>
    public async Task<(double First, double Last)> WindowAsync(string prefix)
    {
        var ids = await Db.SortedSetRangeByRankAsync(new Engine.RedisKeys(prefix).JobIndex(0));
        var batch = Db.CreateBatch();
        var reads = ids.Select(id => batch.HashGetAsync($"{prefix}:{{{id}}}:job", ["startedAt", "finishedAt"])).ToArray();
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
