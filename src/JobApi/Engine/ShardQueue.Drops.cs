using System.Collections.Concurrent;
using System.Threading.Channels;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Finished jobs leave the rotation in batches.</summary>
public sealed partial class ShardQueue
{
    private const int MaxDropBatch = 256;
    private const int DropRideMs = 5;
    private readonly Channel<Drop> _drops = System.Threading.Channels.Channel.CreateUnbounded<Drop>();
    // Jobs known to be finished whose drop has not completed yet: a rotation that still returns one does not lease it.
    private readonly ConcurrentDictionary<string, byte> _leaving = new(StringComparer.Ordinal);
    private int _dropLoopStarted;

    /// <summary>Takes a finished or vanished job out of rotation and out of the pending index, soon: the jobs that
    /// finish while one drop call is on the wire go together in the next one (one script call per partition for
    /// many jobs), or ride ahead of this worker's next rotation in its round trip, whichever comes first (a drop call
    /// of its own waits <see cref="DropRideMs"/> for that rotation, which the slot the job freed usually starts). Nothing
    /// depends on it happening: a job left behind is found final by the next lease, which drops it again, and the
    /// safety sweep forgets its pending entry.
    /// <para>With <paramref name="mayReturn"/>, the job was seen in a state it can leave again: failed (a retry queues
    /// it), waiting (the scheduler queues it) or gone (its submit may still be on its way). The drop lands after the
    /// state was read, in other slots, and by then the job may be active again: a retry or a promotion that found it
    /// still in rotation left it there, and an unchecked drop would take it out for good, queued shards and all. Such
    /// a drop keeps the job's pending entry (the sweep forgets it once it finds the job final, and puts the job back
    /// into rotation if it is unfinished and no worker has seen it for a while), and once it has landed the job's
    /// state is read again: a job that is queued or running is put back into rotation at once
    /// (<see cref="PutBackReturnedAsync"/>).</para></summary>
    public void DropFromRotation(string jobId, bool mayReturn = false)
    {
        _leaving[jobId] = 0;
        _drops.Writer.TryWrite(new Drop(jobId, mayReturn));
        if (Interlocked.CompareExchange(ref _dropLoopStarted, 1, 0) == 0) _ = Task.Run(DropLoopAsync);
    }

    /// <summary>A job to take out of rotation, and whether it was seen in a state it can leave again.</summary>
    private readonly record struct Drop(string JobId, bool MayReturn);

    private async Task DropLoopAsync()
    {
        while (await _drops.Reader.WaitToReadAsync())
        {
            await Task.Delay(DropRideMs);
            var ids = TakeDrops();
            if (ids.Count == 0) continue; // a rotation took them
            var batch = Db.CreateBatch();
            var sent = SendDropsAsync(batch, ids);
            batch.Execute();
            await sent;
        }
    }

    /// <summary>The drops waiting to be sent (at most a batch of them).</summary>
    private List<Drop> TakeDrops()
    {
        var drops = new List<Drop>();
        while (drops.Count < MaxDropBatch && _drops.Reader.TryRead(out var drop)) drops.Add(drop);
        return drops;
    }

    /// <summary>Adds to <paramref name="batch"/> what takes the jobs out of rotation (whatever their priority band)
    /// and out of the pending index: one drop.lua and one ZREM per partition (the ZREM only for jobs that ended for
    /// good: see <see cref="DropFromRotation"/>). A rotation is a ZSET: one ZREM per band takes every job of the
    /// partition out, wherever it is. The task ends once the batch has been sent and answered; the jobs are then no
    /// longer leaving, dropped or not, and those that may return are checked again (without waiting for it).</summary>
    private async Task SendDropsAsync(IBatch batch, IReadOnlyCollection<Drop> drops)
    {
        // A job dropped twice in one batch may return if either drop says so.
        var mayReturn = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var drop in drops) mayReturn[drop.JobId] = drop.MayReturn || mayReturn.GetValueOrDefault(drop.JobId);
        var calls = new List<Task>();
        foreach (var group in mayReturn.GroupBy(d => keys.PartitionOf(d.Key)))
        {
            RedisValue[] ids = [.. group.Select(d => (RedisValue)d.Key)];
            calls.Add(batch.EvaluateAsync(LuaScripts.Drop, keys.RotationKeys(group.Key), ids));
            RedisValue[] ended = [.. group.Where(d => !d.Value).Select(d => (RedisValue)d.Key)];
            if (ended.Length > 0) calls.Add(batch.SortedSetRemoveAsync(keys.Pending(group.Key), ended));
        }
        try
        {
            await Task.WhenAll(calls);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Left in rotation: the next lease of each finds it final and drops it again.
        }
        finally
        {
            foreach (var drop in drops) _leaving.TryRemove(drop.JobId, out _);
            // Checked even when the call failed: it may have landed all the same.
            List<string> returning = [.. mayReturn.Where(d => d.Value).Select(d => d.Key)];
            if (returning.Count > 0) _ = PutBackReturnedAsync(returning);
        }
    }

    private static readonly RedisValue[] StateAndPriority = ["state", "priority"];

    /// <summary>Reads the state of jobs dropped from rotation in a state they can leave again, after the drop landed,
    /// and puts those that are queued or running back: into rotation (enter.lua, a no-op for a job that is there) and
    /// into the pending index (if the sweep forgot it meanwhile), with a nudge. A retry or promotion that came before
    /// this read is seen here; one that comes after it finds the job out of rotation and enters it itself. If this
    /// fails, or the process dies first, the pending entry the drop kept lets the sweep put the job back.</summary>
    private async Task PutBackReturnedAsync(List<string> jobIds)
    {
        try
        {
            var db = Db;
            var reads = db.CreateBatch();
            var states = jobIds.Select(id => reads.HashGetAsync(keys.Job(id).Job, StateAndPriority)).ToArray();
            reads.Execute();
            var back = db.CreateBatch();
            var writes = new List<Task>();
            for (var i = 0; i < jobIds.Count; i++)
            {
                var h = await states[i];
                if (h[0] != JobStates.Queued && h[0] != JobStates.Running) continue;
                var id = jobIds[i];
                writes.Add(back.SortedSetAddAsync(keys.Pending(keys.PartitionOf(id)), id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), SortedSetWhen.NotExists));
                writes.AddRange(JobStore.EnterRotationAndNudge(back, keys, id, h[1].IsNull ? 0 : (int)h[1]));
            }
            if (writes.Count == 0) return;
            back.Execute();
            await Task.WhenAll(writes);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The pending entries stay: the sweep puts back an unfinished job that no worker has seen for a while.
        }
    }
}
