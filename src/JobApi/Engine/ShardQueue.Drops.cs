using System.Threading.Channels;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Finished jobs leave the rotation in batches.</summary>
public sealed partial class ShardQueue
{
    private const int MaxDropBatch = 256;
    private readonly Channel<string> _drops = System.Threading.Channels.Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private int _dropLoopStarted;

    /// <summary>Takes a finished or vanished job out of rotation and out of the pending index, soon: the jobs that
    /// finish while one drop call is on the wire go together in the next one (one script call per partition for
    /// many jobs). Nothing depends on it happening: a job left behind is found final by the next lease, which drops
    /// it again, and the safety sweep forgets its pending entry.</summary>
    public void DropFromRotation(string jobId)
    {
        _drops.Writer.TryWrite(jobId);
        if (Interlocked.CompareExchange(ref _dropLoopStarted, 1, 0) == 0) _ = Task.Run(DropLoopAsync);
    }

    private async Task DropLoopAsync()
    {
        var ids = new List<string>(MaxDropBatch);
        while (await _drops.Reader.WaitToReadAsync())
        {
            ids.Clear();
            while (ids.Count < MaxDropBatch && _drops.Reader.TryRead(out var id)) ids.Add(id);
            try
            {
                await DropFromRotationAsync(ids);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Left in rotation: the next lease of each finds it final and drops it again.
            }
        }
    }

    /// <summary>Takes jobs out of rotation (whatever their priority band) and out of the pending index: one drop.lua
    /// and one ZREM per partition, in one round trip. Right after a rotation a job sits near the head of its list, so
    /// LREM with count 1 finds it at once.</summary>
    public Task DropFromRotationAsync(IReadOnlyCollection<string> jobIds)
    {
        var batch = Db.CreateBatch();
        var calls = new List<Task>();
        foreach (var group in jobIds.Distinct(StringComparer.Ordinal).GroupBy(keys.PartitionOf))
        {
            RedisValue[] ids = [.. group.Select(id => (RedisValue)id)];
            calls.Add(batch.EvaluateAsync(LuaScripts.Drop, [keys.Active(group.Key), keys.ActiveBands(group.Key)], ids));
            calls.Add(batch.SortedSetRemoveAsync(keys.Pending(group.Key), ids));
        }
        batch.Execute();
        return Task.WhenAll(calls);
    }
}
