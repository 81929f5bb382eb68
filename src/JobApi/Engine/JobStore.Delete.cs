using StackExchange.Redis;

namespace JobApi.Engine;

public enum DeleteOutcome { NotFound, Unfinished, Deleted }

public sealed partial class JobStore
{
    /// <summary>Deletes a finished job with every key it has (data, leases, index and scheduler entries, its
    /// idempotency record). An unfinished job is canceled first when <paramref name="cancel"/> is set, otherwise
    /// it is left alone (<see cref="DeleteOutcome.Unfinished"/>, with its state).</summary>
    public async Task<(DeleteOutcome Outcome, string? State)> DeleteAsync(string id, bool cancel)
    {
        if (!JobId.IsWellFormed(id)) return (DeleteOutcome.NotFound, null);
        if (cancel && await CancelAsync(id) is null) return (DeleteOutcome.NotFound, null);
        var db = Db;
        var r = (RedisResult[])(await db.RunAsync(LuaScripts.Delete, keys.Job(id), [keys.EventsChannel.ToString(), id]))!;
        recent.Forget(id);
        switch ((string)r[0]!)
        {
            case "gone": return (DeleteOutcome.NotFound, null);
            case "unfinished": return (DeleteOutcome.Unfinished, (string)r[1]!);
        }
        var partition = keys.PartitionOf(id);
        var batch = db.CreateBatch();
        var idem = (string)r[1]!;
        Task[] cleanup =
        [
            batch.SortedSetRemoveAsync(keys.JobIndex(partition), id),
            batch.SortedSetRemoveAsync(keys.Pending(partition), id),
            batch.SortedSetRemoveAsync(keys.Due(partition), id),
            batch.SortedSetRemoveAsync(keys.Timeouts(partition), id),
            batch.SortedSetRemoveAsync(keys.Webhooks(partition), id),
            batch.EvaluateAsync(LuaScripts.Drop, keys.RotationKeys(partition), [id]),
            idem.Length > 0 ? batch.KeyDeleteAsync(idem) : Task.CompletedTask,
        ];
        batch.Execute();
        await Task.WhenAll(cleanup);
        return (DeleteOutcome.Deleted, null);
    }
}
