using JobApi.Options;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace JobApi.Engine;

/// <summary>The results of jobs submitted through this node that ended soon after, kept a moment so that what a caller
/// does next, reading the result, needs no round trip: a job that ended within its submit (a lone job of a short kind
/// that this node's idle worker ran ahead) is kept with its submit; any other one-shard job submitted here is expected
/// (<see cref="Expect"/>) and kept when its final event brings its short result (<see cref="Ended"/>; every node
/// receives every final event). A result is final once it is there, so an entry can only go stale by the job's end of
/// life: an entry is taken by its first read, lives at most <see cref="MaxLife"/> from the submit (never more than half
/// the job's retention, so it never outlives the job), and goes when the job is deleted: through this node at once,
/// through another one when its delete event (<c>delete.lua</c> publishes it on the events channel) arrives here,
/// normally well under a millisecond. Bounded in bytes; results over <see cref="MaxEntryChars"/> and paged results
/// (with <c>items</c> in a list) are not kept.</summary>
public sealed class RecentResults : IDisposable
{
    public static readonly TimeSpan MaxLife = TimeSpan.FromSeconds(2);
    public const int MaxEntryChars = 16 * 1024;
    private const long MaxChars = 8L << 20;
    /// <summary>What an entry costs beside its result's characters (its status and the cache's own record).</summary>
    private const int EntryOverhead = 512;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxChars, CompactionPercentage = 0.25 });
    private readonly Lock _gate = new();
    /// <summary>The ids of the last <see cref="EndsNoted"/> final events, oldest first (a job ends once, a retried one
    /// again: noted twice, it is forgotten with its first note, which is harmless).</summary>
    private readonly HashSet<string> _ended = new(StringComparer.Ordinal);
    private readonly Queue<string> _endedOrder = new();
    /// <summary>How many ends are noted: a few hundred milliseconds of ends at this engine's highest rates, far more than
    /// the moment between a job's end on another node and its submit's reply here.</summary>
    public const int EndsNoted = 4_096;
    private readonly TimeSpan _retention;

    public RecentResults(IOptions<JobApiOptions> options) => _retention = options.Value.Retention;

    /// <summary>Keeps the result of a job that just ended with it; <paramref name="retainMs"/> is the job's own
    /// retention when it has one.</summary>
    public void Remember(JobStatus status, StoredResult result, long? retainMs)
    {
        if (result.Total is not null || result.Json.Length > MaxEntryChars || Life(retainMs) is not { } expires) return;
        lock (_gate) Keep(new Entry(status, result, expires));
    }

    /// <summary>Notes a job just submitted here, still open: its short result is kept when its final event brings it.
    /// Not when that event came already (the job ended on another node's worker before the submit's reply was handled
    /// here): the read then goes to Redis, rather than wait for an event that has passed.</summary>
    public void Expect(JobStatus status, long? retainMs)
    {
        if (Life(retainMs) is not { } expires) return;
        lock (_gate)
        {
            if (!_ended.Contains(status.Id)) Keep(new Entry(status, null, expires));
        }
    }

    /// <summary>A job's final event came, with its short whole result or without one (failed, canceled, a result too long
    /// for the event): an expected job's result is kept, or, without one, the job is no longer expected (its read goes to
    /// Redis at once). Called for every final event, from any node: a job not submitted here costs one lookup, and its
    /// id is noted among the last <see cref="EndsNoted"/> ends, for a submit whose reply is handled after its job's end.</summary>
    public void Ended(string id, string? json)
    {
        lock (_gate)
        {
            if (_ended.Add(id))
            {
                _endedOrder.Enqueue(id);
                if (_endedOrder.Count > EndsNoted) _ended.Remove(_endedOrder.Dequeue());
            }
            if (!_cache.TryGetValue(id, out Entry? expected) || expected is not { Result: null }) return;
            if (json is null || json.Length > MaxEntryChars) _cache.Remove(id);
            else Keep(new Entry(expected.Status with { State = JobStates.Succeeded }, new StoredResult(json, null, []), expected.Expires));
        }
    }

    /// <summary>The job's entry, which is gone after this: its status and result when the result is kept here; its
    /// status at the submit and no result when the job is expected here (its final event has not brought a result).</summary>
    public (JobStatus Status, StoredResult? Result)? Take(string id)
    {
        lock (_gate)
        {
            if (!_cache.TryGetValue(id, out Entry? entry) || entry is null) return null;
            _cache.Remove(id);
            return (entry.Status, entry.Result);
        }
    }

    /// <summary>Whether the job's result is here (without taking it).</summary>
    internal bool Holds(string id) => _cache.TryGetValue(id, out Entry? entry) && entry is { Result: not null };

    /// <summary>Whether the job is expected here (submitted, its result not arrived yet).</summary>
    internal bool Expects(string id) => _cache.TryGetValue(id, out Entry? entry) && entry is { Result: null };

    /// <summary>Drops the job's entry (it was deleted): under the lock, so that a final event handled at the same moment
    /// on another thread cannot put the result back after it.</summary>
    public void Forget(string id)
    {
        lock (_gate) _cache.Remove(id);
    }

    /// <summary>When an entry made now goes: at most <see cref="MaxLife"/>, at most half the job's retention; null
    /// when that leaves no time.</summary>
    private DateTimeOffset? Life(long? retainMs)
    {
        var retention = retainMs is { } ms ? TimeSpan.FromMilliseconds(ms) : _retention;
        var life = retention / 2 < MaxLife ? retention / 2 : MaxLife;
        return life > TimeSpan.Zero ? DateTimeOffset.UtcNow + life : null;
    }

    private void Keep(Entry entry) => _cache.Set(entry.Status.Id, entry, new MemoryCacheEntryOptions
    {
        Size = (entry.Result?.Json.Length ?? 0) + EntryOverhead, AbsoluteExpiration = entry.Expires,
    });

    public void Dispose() => _cache.Dispose();

    /// <summary>A job's result (null while it is expected) and when the entry goes, fixed at the submit.</summary>
    private sealed record Entry(JobStatus Status, StoredResult? Result, DateTimeOffset Expires);
}
