using JobApi.Options;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace JobApi.Engine;

/// <summary>The results of jobs that ended within their submit on this node (a lone job of a short kind that this
/// node's idle worker ran ahead), kept a moment so that what a caller does next, reading the result, needs no round
/// trip. A result is final once it is there, so an entry can only go stale by the job's end of life: an entry is taken
/// by its first read, lives at most <see cref="MaxLife"/> (never more than half the job's retention, so it never outlives
/// the job), and goes when the job is deleted: through this node at once, through another one when its delete event
/// (<c>delete.lua</c> publishes it on the events channel) arrives here, normally well under a millisecond. Bounded in
/// bytes; results over <see cref="MaxEntryChars"/> and paged results (with <c>items</c> in a list) are not kept.</summary>
public sealed class RecentResults : IDisposable
{
    public static readonly TimeSpan MaxLife = TimeSpan.FromSeconds(2);
    public const int MaxEntryChars = 16 * 1024;
    private const long MaxChars = 8L << 20;
    /// <summary>What an entry costs beside its result's characters (its status and the cache's own record).</summary>
    private const int EntryOverhead = 512;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxChars, CompactionPercentage = 0.25 });
    private readonly TimeSpan _retention;

    public RecentResults(IOptions<JobApiOptions> options) => _retention = options.Value.Retention;

    /// <summary>Keeps the result of a job that just ended with it; <paramref name="retainMs"/> is the job's own
    /// retention when it has one.</summary>
    public void Remember(JobStatus status, StoredResult result, long? retainMs)
    {
        if (result.Total is not null || result.Json.Length > MaxEntryChars) return;
        var retention = retainMs is { } ms ? TimeSpan.FromMilliseconds(ms) : _retention;
        var life = retention / 2 < MaxLife ? retention / 2 : MaxLife;
        if (life <= TimeSpan.Zero) return;
        _cache.Set(status.Id, new Entry(status, result),
            new MemoryCacheEntryOptions { Size = result.Json.Length + EntryOverhead, AbsoluteExpirationRelativeToNow = life });
    }

    /// <summary>The job's status and result when it is kept here, which it no longer is after this.</summary>
    public (JobStatus Status, StoredResult Result)? Take(string id)
    {
        if (!_cache.TryGetValue(id, out Entry? entry) || entry is null) return null;
        _cache.Remove(id);
        return (entry.Status, entry.Result);
    }

    /// <summary>Whether the job's entry is here (without taking it).</summary>
    internal bool Holds(string id) => _cache.TryGetValue(id, out _);

    /// <summary>Drops the job's entry (it was deleted).</summary>
    public void Forget(string id) => _cache.Remove(id);

    public void Dispose() => _cache.Dispose();

    private sealed record Entry(JobStatus Status, StoredResult Result);
}
