using System.Runtime.CompilerServices;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Protects Redis memory for the whole service: while any primary uses more than
/// <c>JobApi:Limits:RedisMemoryFraction</c> of its <c>maxmemory</c>, new jobs are refused (503) so that
/// running jobs can still commit and finish. INFO is read at most once a second per process, off the request path:
/// a submit that finds the figure older than that starts a read in the background and is judged on the last one
/// (only the first submit of a process waits for a read), so no submit waits for INFO.</summary>
public sealed class RedisMemoryGuard(IConnectionMultiplexer redis, IOptions<JobApiOptions> options)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private readonly double _fraction = options.Value.Limits.RedisMemoryFraction;
    private readonly SemaphoreSlim _first = new(1, 1);
    private volatile StrongBox<(long Used, long Max)>? _last;
    private long _readAt;
    private int _reading;

    /// <summary>Null while there is room; else (used, maxmemory) of the fullest primary.</summary>
    public async Task<(long Used, long Max)?> OverLimitAsync()
    {
        if (_fraction <= 0) return null;
        if (_last is null) await FirstReadAsync();
        else if (Environment.TickCount64 - Interlocked.Read(ref _readAt) > CacheFor.TotalMilliseconds && Interlocked.Exchange(ref _reading, 1) == 0)
            _ = RefreshAsync();
        var (used, max) = _last!.Value;
        return max > 0 && used > _fraction * max ? (used, max) : null;
    }

    private async Task FirstReadAsync()
    {
        await _first.WaitAsync();
        try
        {
            if (_last is null) Store(await ReadAsync());
        }
        finally
        {
            _first.Release();
        }
    }

    private async Task RefreshAsync()
    {
        try
        {
            Store(await ReadAsync());
        }
        catch (Exception)
        {
            // Redis unreachable or slow: the last figure stands, and the next submit after a second tries again.
            Interlocked.Exchange(ref _readAt, Environment.TickCount64);
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    private void Store((long Used, long Max) figure)
    {
        _last = new StrongBox<(long Used, long Max)>(figure);
        Interlocked.Exchange(ref _readAt, Environment.TickCount64);
    }

    private async Task<(long Used, long Max)> ReadAsync()
    {
        (long Used, long Max) fullest = (0, 0);
        foreach (var server in redis.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            // INFO from a script: StackExchange.Redis sends INFO itself only in admin mode, which the service does not enable.
            var text = (string?)await server.ExecuteAsync("EVAL", "return redis.call('INFO', 'memory')", 0) ?? "";
            var info = text.Split('\n', StringSplitOptions.TrimEntries).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
                .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            var used = info.TryGetValue("used_memory", out var u) ? long.Parse(u) : 0;
            var max = info.TryGetValue("maxmemory", out var m) ? long.Parse(m) : 0;
            if (max > 0 && (fullest.Max == 0 || (double)used / max > (double)fullest.Used / fullest.Max)) fullest = (used, max);
        }
        return fullest;
    }
}
