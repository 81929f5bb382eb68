using JobApi.Options;
using JobApi.Telemetry;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>
/// The scheduler's work on jobs, safe to run on any number of nodes at once: entries of the "look at it now"
/// sets are claimed (claim.lua: their score moves ahead by the claim timeout, so other nodes leave them alone
/// and a node that dies leaves them to the next claimer), and every change to a job is one script on the job's
/// own state: promote.lua queues a waiting job exactly once; timeout.lua fails an overdue one exactly once.
/// </summary>
public sealed class DueJobs(
    IConnectionMultiplexer redis, RedisKeys keys, JobStore store, IOptions<JobApiOptions> options, ProgressPublisher progress, JobApiMetrics metrics)
{
    private const int Batch = 100;
    private const int Rounds = 10;
    private readonly JobApiOptions _options = options.Value;
    private IDatabase Db => redis.GetDatabase();
    private long RetentionMs => (long)_options.Retention.TotalMilliseconds;
    private string Channel => keys.EventsChannel.ToString();

    /// <summary>Claims up to <paramref name="limit"/> due members of a set. Returns Redis' clock and (member, tick) pairs.</summary>
    internal async Task<(long NowMs, List<(string Member, long Tick)> Due)> ClaimAsync(RedisKey set, int limit, RedisKey? ticks = null)
    {
        RedisKey[] k = ticks is { } t ? [set, t] : [set];
        return Parse(await Db.EvaluateAsync(LuaScripts.Claim, k, [limit, (long)_options.Scheduler.ClaimTimeout.TotalMilliseconds]), []);
    }

    /// <summary>Claims due job ids of a per-partition set (<paramref name="set"/> of each partition): one claim.lua per
    /// partition, each in its own slot, pipelined in one round trip; up to ceil(limit / partitions) from each.
    /// <c>Full</c>: some partition gave all it was asked for, so there may be more right away.</summary>
    internal async Task<(long NowMs, List<(string Member, long Tick)> Due, bool Full)> ClaimJobsAsync(Func<int, RedisKey> set, int limit)
    {
        var partitions = keys.Partitions;
        var each = (limit + partitions - 1) / partitions;
        var batch = Db.CreateBatch();
        var calls = Enumerable.Range(0, partitions)
            .Select(p => batch.EvaluateAsync(LuaScripts.Claim, [set(p)], [each, (long)_options.Scheduler.ClaimTimeout.TotalMilliseconds])).ToArray();
        batch.Execute();
        var due = new List<(string, long)>();
        long now = 0;
        var full = false;
        foreach (var call in calls)
        {
            var before = due.Count;
            now = Math.Max(now, Parse(await call, due).NowMs);
            full |= due.Count - before == each;
        }
        return (now, due, full);
    }

    private static (long NowMs, List<(string Member, long Tick)> Due) Parse(RedisResult result, List<(string, long)> into)
    {
        var r = (RedisResult[])result!;
        for (var i = 1; i + 1 < r.Length; i += 2) into.Add(((string)r[i]!, (long)(double)r[i + 1]));
        return ((long)r[0], into);
    }

    private RedisKey DueOf(string id) => keys.Due(keys.PartitionOf(id));

    /// <summary>Queues the waiting jobs that are due (while some partition has more, up to <see cref="Rounds"/> claims).
    /// Returns how many were queued.</summary>
    public async Task<int> PromoteDueAsync()
    {
        var queued = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var (now, due, full) = await ClaimJobsAsync(keys.Due, Batch);
            queued += (await Task.WhenAll(due.Select(d => PromoteAsync(d.Member, d.Tick, now)))).Count(q => q);
            if (!full) break;
        }
        return queued;
    }

    private async Task<bool> PromoteAsync(string id, long tick, long now)
    {
        var db = Db;
        var job = keys.Job(id);
        var deps = (string?)await db.HashGetAsync(job.Job, "deps");
        var args = new List<RedisValue> { RetentionMs, Channel, id };
        if (deps is not null)
        {
            var ids = deps.Split(',');
            var states = await store.StatesAsync(ids);
            for (var i = 0; i < ids.Length; i++) args.AddRange([ids[i], states[i] ?? ""]);
        }
        var r = (RedisResult[])(await db.RunAsync(LuaScripts.Promote, job, [.. args]))!;
        switch ((string)r[0]!)
        {
            case "queued":
                // Whoever queued it puts it into rotation; a crash right here is repaired by the lease sweep
                // (a queued job that no worker has seen goes back into rotation).
                var batch = db.CreateBatch();
                var pushes = store.EnterRotation(batch, id, (int)r[1]);
                var removed = batch.SortedSetRemoveAsync(DueOf(id), id);
                batch.Execute();
                await Task.WhenAll([.. pushes, removed]);
                progress.Changed(id); // event streams show waiting -> queued at once
                return true;
            case "later":
                await db.SortedSetAddAsync(DueOf(id), id, (long)(double)r[1]);
                return false;
            case "deps":
                await db.SortedSetAddAsync(DueOf(id), id, now + (long)_options.Scheduler.DependencyRecheck.TotalMilliseconds);
                return false;
            case "gone" when now - tick < 60_000:
                // Its index entry is written before the job itself: give a submit in flight time to land.
                await db.SortedSetAddAsync(DueOf(id), id, now + 1000);
                return false;
            case "canceled":
                metrics.JobCanceled();
                await db.SortedSetRemoveAsync(DueOf(id), id);
                return false;
            default:
                await db.SortedSetRemoveAsync(DueOf(id), id);
                return false;
        }
    }

    /// <summary>A job reached its final state: makes the jobs that wait for it, and its webhook, due now (what its
    /// final event's flags name). Returns what became due, so that the caller wakes only the loop that has work.</summary>
    public async Task<FinishedJobWork> OnJobFinishedAsync(FinalEvent finished)
    {
        var id = finished.JobId;
        if (!JobId.IsWellFormed(id)) return default;
        var db = Db;
        var dependents = finished.Dependents ? (string?)await db.HashGetAsync(keys.Job(id).Job, "dependents") : null;
        var webhooks = keys.Webhooks(keys.PartitionOf(id));
        var batch = db.CreateBatch();
        var writes = new List<Task>();
        Task<double?> hook = Task.FromResult<double?>(null);
        if (finished.Webhook)
        {
            writes.Add(batch.SortedSetAddAsync(webhooks, id, 0, SortedSetWhen.Exists | SortedSetWhen.LessThan));
            hook = batch.SortedSetScoreAsync(webhooks, id);
        }
        foreach (var dep in dependents?.Split(',') ?? [])
            writes.Add(batch.SortedSetAddAsync(DueOf(dep), dep, 0, SortedSetWhen.Exists | SortedSetWhen.LessThan));
        batch.Execute();
        await Task.WhenAll(writes);
        return new FinishedJobWork(dependents is not null, await hook is not null);
    }

    /// <summary>Fails the jobs that ran past their timeoutSeconds (while some partition has more, up to
    /// <see cref="Rounds"/> claims). Returns how many.</summary>
    public async Task<int> EnforceTimeoutsAsync()
    {
        var failed = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var (_, due, full) = await ClaimJobsAsync(keys.Timeouts, Batch);
            failed += (await Task.WhenAll(due.Select(d => EnforceTimeoutAsync(d.Member)))).Count(f => f);
            if (!full) break;
        }
        return failed;
    }

    private async Task<bool> EnforceTimeoutAsync(string id)
    {
        var db = Db;
        var set = keys.Timeouts(keys.PartitionOf(id));
        var r = (RedisResult[])(await db.RunAsync(LuaScripts.Timeout, keys.Job(id), [RetentionMs, Channel, id]))!;
        if ((string)r[0]! == "later")
        {
            await db.SortedSetAddAsync(set, id, (long)(double)r[1]);
            return false;
        }
        await db.SortedSetRemoveAsync(set, id);
        if ((string)r[0]! != "failed") return false;
        metrics.JobFailed();
        return true;
    }
}

/// <summary>What a finished job made due: dependents to promote, a webhook to deliver.</summary>
public readonly record struct FinishedJobWork(bool Dependents, bool Webhook);
