using System.Globalization;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>A shard a worker holds under a lease: <c>token:fence</c> is the value of its lease key.</summary>
public sealed record ShardLease(string JobId, string Kind, int Index, int Attempt, long Fence, string Payload);

public enum LeaseKind { Shards, Merge, Idle, Finished }

public sealed record LeaseBatch(LeaseKind Kind, IReadOnlyList<ShardLease> Shards)
{
    public static readonly LeaseBatch Idle = new(LeaseKind.Idle, []);
    public static readonly LeaseBatch Merge = new(LeaseKind.Merge, []);
    public static readonly LeaseBatch Finished = new(LeaseKind.Finished, []);
}

public enum CommitOutcome { Committed, CommittedMerge, Stale, Finished }

/// <summary>The worker side of the engine: every call is one script in the job's slot (or one list command
/// on the rotation of active jobs).</summary>
public sealed class ShardQueue(IConnectionMultiplexer redis, RedisKeys keys, IOptions<JobApiOptions> options)
{
    private readonly JobApiOptions _options = options.Value;
    private long RetentionMs => (long)_options.Retention.TotalMilliseconds;
    private long TtlMs => (long)_options.Worker.LeaseTtl.TotalMilliseconds;
    private long BackoffMs => (long)_options.Worker.RetryBackoff.TotalMilliseconds;
    private IDatabase Db => redis.GetDatabase();

    /// <summary>Rotates the list of active jobs (round robin between jobs) and returns the next one.</summary>
    public async Task<string?> NextActiveJobAsync() =>
        await Db.ListMoveAsync(keys.Active, keys.Active, ListSide.Right, ListSide.Left);

    public async Task<long> ActiveCountAsync() => await Db.ListLengthAsync(keys.Active);

    /// <summary>Takes a finished or vanished job out of rotation. After <see cref="NextActiveJobAsync"/> it sits
    /// at the head of the list, so LREM with count 1 finds it at once.</summary>
    public Task DropFromRotationAsync(string jobId)
    {
        var batch = Db.CreateBatch();
        var a = batch.ListRemoveAsync(keys.Active, jobId, 1);
        var b = batch.SortedSetRemoveAsync(keys.Pending, jobId);
        batch.Execute();
        return Task.WhenAll(a, b);
    }

    public async Task<LeaseBatch> LeaseAsync(string jobId, string workerId, string token, int max)
    {
        var r = (RedisResult[])(await Db.RunAsync(LuaScripts.Lease, keys.Job(jobId),
            [workerId, token, TtlMs, max, BackoffMs, Random.Shared.NextDouble(), RetentionMs, keys.EventsChannel.ToString(), jobId]))!;
        switch ((string)r[0]!)
        {
            case "ok":
                var kind = (string)r[1]!;
                var shards = new ShardLease[(r.Length - 2) / 4];
                for (var i = 0; i < shards.Length; i++)
                {
                    var o = 2 + i * 4;
                    shards[i] = new ShardLease(jobId, kind, (int)r[o], (int)r[o + 1], (long)r[o + 2], (string)r[o + 3]!);
                }
                return new LeaseBatch(LeaseKind.Shards, shards);
            case "merge": return LeaseBatch.Merge;
            case "idle": return LeaseBatch.Idle;
            default: return LeaseBatch.Finished;
        }
    }

    private static string LeaseValue(string token, long fence) => token + ":" + fence.ToString(CultureInfo.InvariantCulture);

    /// <summary>Renews the given leases of one job (merge lease: index -1). Returns the ones that were lost.</summary>
    public async Task<IReadOnlyList<int>> RenewAsync(string jobId, string token, IReadOnlyList<(int Index, long Fence)> held, string? mergeToken)
    {
        var job = keys.Job(jobId);
        var leaseKeys = new RedisKey[held.Count];
        var args = new RedisValue[1 + held.Count * 2];
        args[0] = TtlMs;
        for (var i = 0; i < held.Count; i++)
        {
            var (index, fence) = held[i];
            leaseKeys[i] = index < 0 ? job.MergeLease : job.Lease(index);
            args[1 + i * 2] = index < 0 ? mergeToken : LeaseValue(token, fence);
            args[2 + i * 2] = index < 0 ? "" : index;
        }
        var lost = (int[])(await Db.RunAsync(LuaScripts.Renew, job, args, leaseKeys))!;
        return lost.Select(p => held[p - 1].Index).ToArray();
    }

    public async Task<CommitOutcome> CommitAsync(ShardLease lease, string token, string result)
    {
        var job = keys.Job(lease.JobId);
        var r = (RedisResult[])(await Db.RunAsync(LuaScripts.Commit, job,
            [lease.Index, token, lease.Fence, result, TtlMs], job.Lease(lease.Index)))!;
        return (string)r[0]! switch
        {
            "ok" => CommitOutcome.Committed,
            "merge" => CommitOutcome.CommittedMerge,
            "stale" => CommitOutcome.Stale,
            _ => CommitOutcome.Finished,
        };
    }

    /// <summary>Records a failed attempt. Returns "retry", "dead", "stale" or "final".</summary>
    public async Task<string> FailAsync(ShardLease lease, string token, string error)
    {
        var job = keys.Job(lease.JobId);
        var r = (RedisResult[])(await Db.RunAsync(LuaScripts.Fail, job,
            [lease.Index, token, lease.Fence, error, BackoffMs, Random.Shared.NextDouble(), RetentionMs, keys.EventsChannel.ToString(), lease.JobId],
            job.Lease(lease.Index)))!;
        return (string)r[0]!;
    }

    public async Task<bool> ReleaseAsync(ShardLease lease, string token)
    {
        var job = keys.Job(lease.JobId);
        var released = (int)await Db.RunAsync(LuaScripts.Release, job, [lease.Index, token, lease.Fence], job.Lease(lease.Index)) == 1;
        if (released) await Db.PublishAsync(keys.NudgeChannel, lease.JobId, CommandFlags.FireAndForget);
        return released;
    }

    /// <summary>What a merge needs: the kind, its context and every shard result in index order.</summary>
    public async Task<(string Kind, string Context, string[] Results)?> ReadForMergeAsync(string jobId)
    {
        var job = keys.Job(jobId);
        var db = Db;
        var h = await db.HashGetAsync(job.Job, ["kind", "context", "total"]);
        if (h[0].IsNull) return null;
        var results = new string[(int)h[2]];
        await foreach (var entry in db.HashScanAsync(job.Results, pageSize: 1000))
            results[(int)entry.Name] = entry.Value!;
        return ((string)h[0]!, (string)h[1]!, results);
    }

    /// <summary>Stores the merged result if this merge lease is still ours. Returns "ok", "stale" or "final".</summary>
    public async Task<string> FinishAsync(string jobId, string mergeToken, string resultJson)
    {
        var r = (RedisResult[])(await Db.RunAsync(LuaScripts.Finish, keys.Job(jobId),
            [mergeToken, resultJson, RetentionMs, keys.EventsChannel.ToString(), jobId]))!;
        return (string)r[0]!;
    }
}
