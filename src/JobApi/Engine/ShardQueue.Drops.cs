using System.Collections.Concurrent;
using System.Threading.Channels;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Finished jobs leave the rotation in batches.</summary>
public sealed partial class ShardQueue
{
    private const int MaxDropBatch = 256;
    private const int DropRideMs = 5;
    private readonly Channel<string> _drops = System.Threading.Channels.Channel.CreateUnbounded<string>();
    // Jobs known to be finished whose drop has not completed yet: a rotation that still returns one does not lease it.
    private readonly ConcurrentDictionary<string, byte> _leaving = new(StringComparer.Ordinal);
    private int _dropLoopStarted;

    /// <summary>Takes a finished or vanished job out of rotation and out of the pending index, soon: the jobs that
    /// finish while one drop call is on the wire go together in the next one (one script call per partition for
    /// many jobs), or ride ahead of this worker's next rotation in its round trip, whichever comes first (a drop call
    /// of its own waits <see cref="DropRideMs"/> for that rotation, which the slot the job freed usually starts). Nothing
    /// depends on it happening: a job left behind is found final by the next lease, which drops it again, and the
    /// safety sweep forgets its pending entry.</summary>
    public void DropFromRotation(string jobId)
    {
        _leaving[jobId] = 0;
        _drops.Writer.TryWrite(jobId);
        if (Interlocked.CompareExchange(ref _dropLoopStarted, 1, 0) == 0) _ = Task.Run(DropLoopAsync);
    }

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
    private List<string> TakeDrops()
    {
        var ids = new List<string>();
        while (ids.Count < MaxDropBatch && _drops.Reader.TryRead(out var id)) ids.Add(id);
        return ids;
    }

    /// <summary>Adds to <paramref name="batch"/> what takes the jobs out of rotation (whatever their priority band)
    /// and out of the pending index: one drop.lua and one ZREM per partition. A rotation is a ZSET: one ZREM per band
    /// takes every job of the partition out, wherever it is. The task ends once the batch has been sent and
    /// answered; the jobs are then no longer leaving, dropped or not.</summary>
    private async Task SendDropsAsync(IBatch batch, IReadOnlyCollection<string> jobIds)
    {
        var calls = new List<Task>();
        foreach (var group in jobIds.Distinct(StringComparer.Ordinal).GroupBy(keys.PartitionOf))
        {
            RedisValue[] ids = [.. group.Select(id => (RedisValue)id)];
            calls.Add(batch.EvaluateAsync(LuaScripts.Drop, keys.RotationKeys(group.Key), ids));
            calls.Add(batch.SortedSetRemoveAsync(keys.Pending(group.Key), ids));
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
            foreach (var id in jobIds) _leaving.TryRemove(id, out _);
        }
    }
}
