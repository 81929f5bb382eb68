using JobApi.JobKinds;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>One shard handed to a worker: its index, which attempt this is, and the payload.</summary>
public sealed record LeasedShard(int Index, int Attempt, string Payload);

public enum LeaseKind { Shards, Merge, Idle, Finished }

/// <summary>What one lease call gave: shards under one lease (fence), the merge, or nothing. A job with nothing to lease
/// any more (<see cref="LeaseKind.Finished"/>) has the state the lease found in <paramref name="FinalState"/>: succeeded,
/// failed, canceled or waiting, or null when the job was gone.</summary>
public sealed record LeaseGrant(
    string JobId, LeaseKind Kind, string JobKind = "", long Fence = 0, int Total = 0, long StartedAt = 0,
    string? MergeContext = null, IReadOnlyList<LeasedShard>? Shards = null, string? FinalState = null);

public enum CommitOutcome { Committed, CommittedMerge, Finished, Stale, JobFinished }

/// <summary>The worker side of the engine: every call is one script in the job's slot (or one script on
/// the rotation of active jobs). Calls made at the same time share round trips (StackExchange.Redis pipelines them).</summary>
public sealed partial class ShardQueue(IConnectionMultiplexer redis, RedisKeys keys, IOptions<JobApiOptions> options, FaultInjection faults, RedisTopology topology)
{
    private readonly JobApiOptions _options = options.Value;
    private long RetentionMs => (long)_options.Retention.TotalMilliseconds;
    private long TtlMs => (long)_options.Worker.LeaseTtl.TotalMilliseconds;
    private long BackoffMs => (long)_options.Worker.RetryBackoff.TotalMilliseconds;
    private string Channel => keys.EventsChannel.ToString();
    private IDatabase Db => redis.GetDatabase();

    /// <summary>True on a Redis that is not a cluster: calls for several jobs may then share one script call
    /// (<see cref="LuaScripts.RunManyAsync"/>).</summary>
    private bool Grouped => topology.OneServer;

    /// <summary>At most this many commits share one script call: a group holds Redis for about 50 µs per job.</summary>
    private const int MaxCommitGroup = 32;
    private ScriptGroup? _commits;
    private ScriptGroup Commits => _commits ??= new ScriptGroup(() => Db, LuaScripts.Commit, LuaScripts.CommitMany, MaxCommitGroup);
    private long _leaseGroups;

    /// <summary>Script calls so far that carried the leases, or the commits, of several jobs.</summary>
    internal (long Leases, long Commits) GroupedCalls => (Interlocked.Read(ref _leaseGroups), _commits?.Groups ?? 0);

    /// <summary>Asks each job for shards in one round trip (one script call for all of them when <see cref="Grouped"/>);
    /// <paramref name="max"/>[i] is how many job i may give.</summary>
    public async Task<LeaseGrant[]> LeaseAsync(IReadOnlyList<string> jobIds, IReadOnlyList<int> max, string workerId, string token)
    {
        var calls = new JobCall[jobIds.Count];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = JobCall.For(keys.Job(jobIds[i]),
                [workerId, token, TtlMs, max[i], BackoffMs, Random.Shared.NextDouble(), RetentionMs, Channel, jobIds[i]]);
        }
        var grants = new LeaseGrant[calls.Length];
        if (calls.Length > 1 && Grouped)
        {
            Interlocked.Increment(ref _leaseGroups);
            var replies = (RedisResult[])(await Db.RunManyAsync(LuaScripts.LeaseMany, calls))!;
            for (var i = 0; i < calls.Length; i++) grants[i] = ParseGrant(jobIds[i], (RedisResult[])replies[i]!);
            return grants;
        }
        var batch = Db.CreateBatch();
        var sent = new Task<RedisResult>[calls.Length];
        for (var i = 0; i < calls.Length; i++) sent[i] = batch.EvaluateAsync(LuaScripts.Lease, calls[i].Keys, calls[i].Args);
        batch.Execute();
        for (var i = 0; i < calls.Length; i++) grants[i] = ParseGrant(jobIds[i], (RedisResult[])(await sent[i])!);
        return grants;
    }

    private static LeaseGrant ParseGrant(string jobId, RedisResult[] r)
    {
        switch ((string)r[0]!)
        {
            case "ok":
                var shards = new LeasedShard[(r.Length - 6) / 3];
                for (var i = 0; i < shards.Length; i++)
                {
                    var o = 6 + i * 3;
                    shards[i] = new LeasedShard((int)r[o], (int)r[o + 1], (string)r[o + 2]!);
                }
                var context = (string?)r[5];
                return new LeaseGrant(jobId, LeaseKind.Shards, (string)r[1]!, (long)r[2], (int)r[3], (long)r[4],
                    string.IsNullOrEmpty(context) ? null : context, shards);
            case "merge": return new LeaseGrant(jobId, LeaseKind.Merge);
            case "idle": return new LeaseGrant(jobId, LeaseKind.Idle);
            default: return new LeaseGrant(jobId, LeaseKind.Finished, FinalState: (string)r[0]! == "final" ? (string?)r[1] : null);
        }
    }

    /// <summary>Renews the leases this worker holds on one job (and its merge lease). Returns the fences lost
    /// (-1 stands for the merge lease).</summary>
    public async Task<IReadOnlyList<long>> RenewAsync(string jobId, string token, IReadOnlyList<long> fences, bool merge)
    {
        var job = keys.Job(jobId);
        var held = merge ? [.. fences, -1L] : fences;
        var leaseKeys = held.Select(f => f < 0 ? job.MergeLease : job.Lease(f)).ToArray();
        RedisValue[] args = [TtlMs, token, .. held.Select(f => f < 0 ? RedisValue.EmptyString : (RedisValue)f)];
        var lost = (int[])(await Db.RunAsync(LuaScripts.Renew, job, args, leaseKeys))!;
        return lost.Select(p => held[p - 1]).ToArray();
    }

    /// <summary>Commits shard results held under lease <paramref name="fence"/> in one call. With
    /// <paramref name="merged"/> (the caller held every shard and merged them itself), the last commit finishes the job.
    /// When <see cref="Grouped"/>, commits of several jobs made at the same time share one script call (<see cref="ScriptGroup"/>).</summary>
    public async Task<(CommitOutcome Outcome, int Refused)> CommitAsync(
        string jobId, long fence, long startedAt, string token, string workerId, IReadOnlyList<(int Index, string Result)> results, string? merged)
    {
        var job = keys.Job(jobId);
        var args = new RedisValue[9 + results.Count * 2];
        args[0] = fence; args[1] = token; args[2] = workerId; args[3] = startedAt; args[4] = TtlMs;
        args[5] = RetentionMs; args[6] = Channel; args[7] = jobId; args[8] = merged ?? "";
        for (var i = 0; i < results.Count; i++)
        {
            args[9 + i * 2] = results[i].Index;
            args[10 + i * 2] = results[i].Result;
        }
        var call = JobCall.For(job, args, job.Lease(fence));
        var r = (RedisResult[])(await (Grouped ? Commits.RunAsync(call) : Db.EvaluateAsync(LuaScripts.Commit, call.Keys, call.Args)))!;
        faults.AfterCommit();
        var refused = r.Length > 1 && !r[1].IsNull && int.TryParse((string?)r[1], out var n) ? n : 0;
        return ((string)r[0]! switch
        {
            "ok" => CommitOutcome.Committed,
            "merge" => CommitOutcome.CommittedMerge,
            "finished" => CommitOutcome.Finished,
            "stale" => CommitOutcome.Stale,
            _ => CommitOutcome.JobFinished,
        }, refused);
    }

    /// <summary>Records a failed attempt. Returns "retry", "dead", "stale" or "final".</summary>
    public async Task<string> FailAsync(string jobId, long fence, string token, int index, string error)
    {
        var job = keys.Job(jobId);
        var r = (RedisResult[])(await Db.RunAsync(LuaScripts.Fail, job,
            [fence, token, index, error, BackoffMs, Random.Shared.NextDouble(), RetentionMs, Channel, jobId], job.Lease(fence)))!;
        return (string)r[0]!;
    }

    /// <summary>Gives shards back to the queue without counting an attempt (graceful shutdown).</summary>
    public async Task<int> ReleaseAsync(string jobId, long fence, string token, IReadOnlyList<int> indexes)
    {
        var job = keys.Job(jobId);
        RedisValue[] args = [fence, token, .. indexes.Select(i => (RedisValue)i)];
        var released = (int)await Db.RunAsync(LuaScripts.Release, job, args, job.Lease(fence));
        if (released > 0) await Db.PublishAsync(keys.NudgeChannel, jobId, CommandFlags.FireAndForget);
        return released;
    }

    /// <summary>Every shard result of a job in index order, read by index: HMGET of 1,000 fields a page, up to 16 pages
    /// (16,000 fields) a round trip, so that the replies on the wire at once stay bounded however many shards a job has
    /// (a scan of the hash would cost a round trip per page and come back in no order).</summary>
    public async Task<string[]> ReadResultsAsync(string jobId, int total)
    {
        const int page = 1000, pagesPerTrip = 16;
        var hash = keys.Job(jobId).Results;
        var results = new string[total];
        for (var first = 0; first < total; first += page * pagesPerTrip)
        {
            var batch = Db.CreateBatch();
            var pages = new List<(int Start, Task<RedisValue[]> Read)>(pagesPerTrip);
            for (var start = first; start < total && start < first + page * pagesPerTrip; start += page)
            {
                var fields = new RedisValue[Math.Min(page, total - start)];
                for (var i = 0; i < fields.Length; i++) fields[i] = start + i;
                pages.Add((start, batch.HashGetAsync(hash, fields)));
            }
            batch.Execute();
            foreach (var (start, read) in pages)
            {
                var values = await read;
                for (var i = 0; i < values.Length; i++)
                    results[start + i] = (string?)values[i] ?? throw RedisShardResults.Missing(jobId, start + i);
            }
        }
        return results;
    }

    /// <summary>Asks Redis for a reply of 2,000 short strings (a script that touches no key), like the reply to a
    /// merge's read of shard results: the client's handling of replies longer than one socket read is compiled before
    /// the first merge of a big job needs it (about 20 ms of compilation in the middle of that merge otherwise, with
    /// tiered compilation off). Writes nothing.</summary>
    public async Task WarmUpAsync()
    {
        var reply = await Db.ScriptEvaluateAsync("local t = {} for i = 1, 2000 do t[i] = '0000' end return t");
        _ = (RedisValue[])reply!;
    }

    /// <summary>What a merge needs: the kind, its context and the shard results on demand (their count is the job's total).</summary>
    public async Task<(string Kind, string Context, IShardResults Results)?> OpenForMergeAsync(string jobId)
    {
        var h = await Db.HashGetAsync(keys.Job(jobId).Job, ["kind", "context", "total"]);
        if (h[0].IsNull) return null;
        return ((string)h[0]!, (string)h[1]!, new RedisShardResults(Db, keys.Job(jobId), (int)h[2]));
    }

    internal Task<RedisResultItems> StartItemsAsync(string jobId, string mergeToken) =>
        RedisResultItems.StartAsync(Db, keys.Job(jobId).ResultItemsStaging(mergeToken));

    /// <summary>Stores the merged result (and, with <paramref name="itemCount"/>, makes the staged items the result's
    /// items) if this merge lease is still ours. Returns "ok", "stale" or "final".</summary>
    public async Task<string> FinishAsync(string jobId, string mergeToken, string resultJson, long? itemCount = null)
    {
        faults.BeforeMergeStored();
        var job = keys.Job(jobId);
        var r = (RedisResult[])(await Db.RunAsync(LuaScripts.Finish, job,
            [mergeToken, resultJson, RetentionMs, Channel, jobId, itemCount is { } n ? n : ""],
            job.ResultItemsStaging(mergeToken), job.ResultItems))!;
        return (string)r[0]!;
    }

    /// <summary>Fails the job with the merge's error if this merge lease is still ours. Returns "failed", "stale" or "final".</summary>
    public async Task<string> MergeFailedAsync(string jobId, string mergeToken, string error)
    {
        var job = keys.Job(jobId);
        var r = (RedisResult[])(await Db.RunAsync(LuaScripts.MergeFailed, job,
            [mergeToken, error, RetentionMs, Channel, jobId], job.ResultItemsStaging(mergeToken)))!;
        return (string)r[0]!;
    }
}
