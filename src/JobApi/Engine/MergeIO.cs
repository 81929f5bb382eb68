using System.Globalization;
using JobApi.JobKinds;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Shard results fetched on demand from the job's results hash. Reads in index order (up or down) are
/// pipelined: while the merge works on one result, the next ones are on their way, as many as fit in about
/// <see cref="AheadBytes"/> judged by the size of the last result (at most <see cref="MaxAhead"/>), so a
/// merge of 100,000 small results waits for a few thousand round trips, not 100,000, and one of huge results
/// holds at most one extra in memory. Any other order reads one result at a time.</summary>
internal sealed class RedisShardResults(IDatabase db, JobKeys job, int count) : IShardResults
{
    internal const int MaxAhead = 64;
    internal const long AheadBytes = 4 << 20;
    private readonly Dictionary<int, Task<RedisValue>> _ahead = [];
    private int _last = -2;
    private int _window = 1;

    public int Count => count;

    /// <summary>Reads under way ahead of the merge.</summary>
    internal int Pending => _ahead.Count;

    public async ValueTask<string> GetAsync(int index, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        var step = index - _last;
        _last = index;
        if (!_ahead.Remove(index, out var read)) read = Read(index);
        if (step is 1 or -1) ReadAhead(index, step);
        else Drop();
        var value = await read;
        if (value.IsNull) throw Missing(job.JobId, index);
        var result = (string)value!;
        _window = (int)Math.Clamp(AheadBytes / Math.Max(1, result.Length), 1, MaxAhead);
        return result;
    }

    /// <summary>Starts the reads of the next results in the direction of travel, up to the window, and forgets
    /// any others still pending.</summary>
    private void ReadAhead(int index, int step)
    {
        for (var i = 1; i <= _window; i++)
        {
            var next = index + step * i;
            if (next < 0 || next >= count) break;
            if (!_ahead.ContainsKey(next)) _ahead[next] = Read(next);
        }
        if (_ahead.Count <= _window) return;
        foreach (var stale in _ahead.Keys.Where(k => (k - index) * step <= 0 || Math.Abs(k - index) > _window).ToList())
            Forget(stale);
    }

    private void Drop()
    {
        foreach (var stale in _ahead.Keys.ToList()) Forget(stale);
    }

    /// <summary>A read no longer wanted: its outcome is observed so that a failed one is not reported as unobserved.</summary>
    private void Forget(int index)
    {
        if (_ahead.Remove(index, out var read)) _ = read.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
    }

    /// <summary>The error of a merge that finds a shard's result missing: never a gap in the merged result.</summary>
    internal static InvalidOperationException Missing(string jobId, int index) =>
        new($"Shard {index} of job {jobId} has no committed result.");

    private Task<RedisValue> Read(int index) => db.HashGetAsync(job.Results, index.ToString(CultureInfo.InvariantCulture));
}

/// <summary>Writes a merge's items to its staging list in batches, so a result of millions of items never sits
/// in memory whole. The list expires on its own if the merge is abandoned; the finish script renames it.</summary>
internal sealed class RedisResultItems(IDatabase db, RedisKey staging) : IResultItems
{
    private const int BatchSize = 10_000;
    private static readonly TimeSpan StagingTtl = TimeSpan.FromHours(1);
    private readonly List<RedisValue> _buffer = new(BatchSize);

    public long Count { get; private set; }

    public static async Task<RedisResultItems> StartAsync(IDatabase db, RedisKey staging)
    {
        await db.KeyDeleteAsync(staging); // leftovers of an earlier attempt by the same worker
        return new RedisResultItems(db, staging);
    }

    public async ValueTask AddAsync(string itemJson, CancellationToken cancellationToken)
    {
        _buffer.Add(itemJson);
        Count++;
        if (_buffer.Count >= BatchSize) await FlushAsync(cancellationToken);
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_buffer.Count == 0) return;
        cancellationToken.ThrowIfCancellationRequested();
        var batch = db.CreateBatch();
        var push = batch.ListRightPushAsync(staging, [.. _buffer]);
        var ttl = batch.KeyExpireAsync(staging, StagingTtl);
        batch.Execute();
        await Task.WhenAll(push, ttl);
        _buffer.Clear();
    }
}
