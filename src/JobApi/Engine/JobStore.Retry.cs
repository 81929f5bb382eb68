using StackExchange.Redis;

namespace JobApi.Engine;

public sealed partial class JobStore
{
    /// <summary>Requeues the dead shards (and every other unfinished shard) of a failed job and puts it back
    /// into the rotation of its priority band. Its timeout (if any) counts again from now and its callback (if any)
    /// is delivered again when it ends. Returns null for an unknown job; <c>ConflictState</c> carries the state of
    /// a job that is not failed. The job is counted again in its tenant's quotas as a new submit is (its requeued
    /// shards and the bytes it holds; released once it is final again); <c>Quota</c> carries the refusal when a cap
    /// would be exceeded, and then nothing changes.</summary>
    public async Task<RetryOutcome?> RetryAsync(string id)
    {
        if (!JobId.IsWellFormed(id)) return null;
        var db = Db;
        var job = keys.Job(id);
        var batch = db.CreateBatch();
        var read = batch.HashGetAsync(job.Job, ["state", "tenant", "total", "quotaBytes"]);
        var done = batch.HashLengthAsync(job.Done);
        batch.Execute();
        var h = await read;
        if (h[0].IsNull) return null;
        if ((string)h[0]! != JobStates.Failed) return new RetryOutcome(null, (string)h[0]!);
        var tenant = h[1].IsNull ? Options.Tenants.Default : (string)h[1]!;
        var requeued = (int)h[2] - (int)await done;
        if (await quota.ReserveAsync(tenant, id, requeued, h[3].IsNull ? 0 : (long)h[3]) is { } refusal)
            return new RetryOutcome(null, null, refusal);
        var reply = await db.RunAsync(LuaScripts.Retry, job, []);
        var parts = reply.IsNull ? null : (RedisResult[])reply!;
        if (parts is null || (string)parts[0]! == "conflict")
        {
            // Another request retried (or deleted) it in between: that one counts it.
            if (parts is not null && (string)parts[1]! != JobStates.Running) await quota.ReleaseAsync(tenant, id);
            return parts is null ? null : new RetryOutcome(null, (string)parts[1]!);
        }
        var priority = (int)parts[2];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var partition = keys.PartitionOf(id);
        // Outside the job's slot, as at submit: the partition's unfinished-job index, timeout and webhook sets, then
        // the rotation of its band in its partition and a nudge (a crash in between is repaired by the lease sweep and the scheduler).
        batch = db.CreateBatch();
        var writes = new List<Task> { batch.SortedSetAddAsync(keys.Pending(partition), id, now, SortedSetWhen.NotExists) };
        if (long.TryParse((string?)parts[3], out var timeoutMs))
            writes.Add(batch.SortedSetAddAsync(keys.Timeouts(partition), id, now + timeoutMs));
        if ((string?)parts[4] == "1")
            writes.Add(batch.SortedSetAddAsync(keys.Webhooks(partition), id, now + (long)WebhookRecheck.TotalMilliseconds));
        writes.AddRange(EnterRotation(batch, id, priority)); // a no-op when it is in the rotation still
        batch.Execute();
        await Task.WhenAll(writes);
        return new RetryOutcome(await GetStatusAsync(id), null);
    }
}

/// <summary>A retried job's status, or the state that made the retry a conflict, or the quota that refused it.</summary>
public sealed record RetryOutcome(JobStatus? Status, string? ConflictState, QuotaRefusal? Quota = null);
