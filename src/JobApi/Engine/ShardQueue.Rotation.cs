using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>The rotation of active jobs over the queue partitions.</summary>
public sealed partial class ShardQueue
{
    // Where the next rotation starts: a random partition per process, so workers do not all crowd one partition.
    // Only the dispatch loop rotates, one call at a time.
    private int _nextPartition = Random.Shared.Next(keys.Partitions);
    private int _emptyPartitionsInRow;

    // Partitions whose rotation came back empty are passed over until this time (Environment.TickCount64, ms) unless a
    // nudge for one of their jobs comes first: with many partitions and few jobs, most visits would find nothing.
    private readonly long[] _quietUntil = new long[keys.Partitions];

    /// <summary>A job of this partition was queued (the nudge channel said so): visit its partition again at once.</summary>
    public void Nudged(string jobId) => Volatile.Write(ref _quietUntil[keys.PartitionOf(jobId)], 0);

    /// <summary>Rotates up to <paramref name="count"/> active jobs and returns them: higher priority bands first,
    /// round robin between the jobs of a band, lower bands leading every 4th round (see rotate.lua). With several
    /// partitions it visits the next min(partitions, count) of them that are not known to be empty, in one round trip
    /// (one rotate.lua each, pipelined), going round, and merges their answers (see <see cref="Merge"/>). A partition
    /// found empty is passed over for one idle-poll period, or until a nudge for one of its jobs arrives.</summary>
    public async Task<string[]> RotateAsync(int count)
    {
        var partitions = keys.Partitions;
        var now = Environment.TickCount64;
        var want = Math.Clamp(count, 1, partitions);
        var chosen = new List<int>(want);
        for (var k = 0; k < partitions && chosen.Count < want; k++)
        {
            var p = (_nextPartition + k) % partitions;
            if (partitions == 1 || Volatile.Read(ref _quietUntil[p]) <= now) chosen.Add(p);
        }
        if (chosen.Count == 0)
        {
            _emptyPartitionsInRow = partitions; // every partition was empty a moment ago: wait for a nudge or the poll
            return [];
        }
        _nextPartition = (chosen[^1] + 1) % partitions;
        var visit = chosen.Count;
        var perPartition = (count + visit - 1) / visit;
        var batch = Db.CreateBatch();
        // Jobs this worker saw finish are dropped first, in the same round trip, so the rotation does not hand them out.
        var dropped = _drops.Reader.Count > 0 ? TakeDrops() : null;
        var drops = dropped is { Count: > 0 } ? SendDropsAsync(batch, dropped) : Task.CompletedTask;
        var calls = new Task<RedisResult>[visit];
        for (var k = 0; k < visit; k++)
        {
            var p = chosen[k];
            calls[k] = batch.EvaluateAsync(LuaScripts.Rotate, keys.RotationKeys(p), [perPartition]);
        }
        batch.Execute();
        await drops;
        var rotated = new List<RotatedJob>();
        var quiet = now + (long)_options.Worker.IdlePoll.TotalMilliseconds;
        for (var k = 0; k < visit; k++)
        {
            var r = await calls[k];
            RedisValue[] pairs = r.IsNull ? [] : (RedisValue[])r!;
            if (partitions > 1) Volatile.Write(ref _quietUntil[chosen[k]], pairs.Length == 0 ? quiet : 0);
            for (var i = 0; i + 1 < pairs.Length; i += 2)
            {
                var id = (string)pairs[i]!;
                if (!_leaving.ContainsKey(id)) rotated.Add(new RotatedJob(id, (int)pairs[i + 1], i / 2, k));
            }
        }
        var jobs = Merge(rotated, count);
        _emptyPartitionsInRow = jobs.Length == 0 ? _emptyPartitionsInRow + visit : 0;
        return jobs;
    }

    /// <summary>True while the rotations that found nothing have not yet visited every partition since the last
    /// one that found a job: the caller should look again at once instead of waiting.</summary>
    public bool UnvisitedPartitionsLeft => _emptyPartitionsInRow < keys.Partitions;

    /// <summary>One job of a partition's rotate answer: its band, its place in that answer, which visited partition.</summary>
    internal readonly record struct RotatedJob(string Id, int Priority, int Depth, int Partition);

    /// <summary>At most <paramref name="count"/> of the partitions' answers: each partition's first job always (it is
    /// that partition's highest band, or the lower band whose fairness turn it is, so no partition starves),
    /// then the others highest priority first. The order is place first (the leaders, then the second jobs, ...),
    /// higher priority first within a place; with one partition that is rotate.lua's own order.</summary>
    internal static string[] Merge(IReadOnlyList<RotatedJob> rotated, int count)
    {
        // No LINQ here: this runs on every rotation, and the sorting operators rent pooled buffers per call.
        var leaders = new List<RotatedJob>(Math.Min(count, rotated.Count));
        var rest = new List<RotatedJob>(rotated.Count);
        foreach (var r in rotated)
        {
            if (r.Depth != 0) rest.Add(r);
            else if (leaders.Count < count) leaders.Add(r);
        }
        rest.Sort(static (a, b) => a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority)
            : a.Depth != b.Depth ? a.Depth.CompareTo(b.Depth) : a.Partition.CompareTo(b.Partition));
        var chosen = leaders;
        for (var i = 0; i < rest.Count && chosen.Count < count; i++) chosen.Add(rest[i]);
        chosen.Sort(static (a, b) => a.Depth != b.Depth ? a.Depth.CompareTo(b.Depth)
            : a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority) : a.Partition.CompareTo(b.Partition));
        var ids = new string[chosen.Count];
        for (var i = 0; i < ids.Length; i++) ids[i] = chosen[i].Id;
        return ids;
    }
}
