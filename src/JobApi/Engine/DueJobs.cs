using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>
/// The scheduler's work on jobs, safe to run on any number of nodes at once: entries of the "look at it now"
/// sets are claimed (claim.lua: their score moves ahead by the claim timeout, so other nodes leave them alone
/// and a node that dies leaves them to the next claimer), and every change to a job is one script on the job's
/// own state: promote.lua queues a waiting job exactly once; timeout.lua fails an overdue one exactly once.
/// </summary>
public sealed class DueJobs(IConnectionMultiplexer redis, RedisKeys keys, JobStore store, IOptions<JobApiOptions> options)
{
    private const int Batch = 100;
    private readonly JobApiOptions _options = options.Value;
    private IDatabase Db => redis.GetDatabase();
    private long RetentionMs => (long)_options.Retention.TotalMilliseconds;
    private string Channel => keys.EventsChannel.ToString();

    /// <summary>Claims up to <paramref name="limit"/> due members of a set. Returns Redis' clock and (member, tick) pairs.</summary>
    internal async Task<(long NowMs, List<(string Member, long Tick)> Due)> ClaimAsync(RedisKey set, int limit, RedisKey? ticks = null)
    {
        RedisKey[] k = ticks is { } t ? [set, t] : [set];
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.Claim, k, [limit, (long)_options.Scheduler.ClaimTimeout.TotalMilliseconds]))!;
        var due = new List<(string, long)>();
        for (var i = 1; i + 1 < r.Length; i += 2) due.Add(((string)r[i]!, (long)(double)r[i + 1]));
        return ((long)r[0], due);
    }

    /// <summary>Queues the waiting jobs that are due. Returns how many were queued.</summary>
    public async Task<int> PromoteDueAsync()
    {
        var (now, due) = await ClaimAsync(keys.Due, Batch);
        var outcomes = await Task.WhenAll(due.Select(d => PromoteAsync(d.Member, d.Tick, now)));
        return outcomes.Count(q => q);
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
                var removed = batch.SortedSetRemoveAsync(keys.Due, id);
                batch.Execute();
                await Task.WhenAll([.. pushes, removed]);
                return true;
            case "later":
                await db.SortedSetAddAsync(keys.Due, id, (long)(double)r[1]);
                return false;
            case "deps":
                await db.SortedSetAddAsync(keys.Due, id, now + (long)_options.Scheduler.DependencyRecheck.TotalMilliseconds);
                return false;
            case "gone" when now - tick < 60_000:
                // Its index entry is written before the job itself: give a submit in flight time to land.
                await db.SortedSetAddAsync(keys.Due, id, now + 1000);
                return false;
            default:
                await db.SortedSetRemoveAsync(keys.Due, id);
                return false;
        }
    }

    /// <summary>A job reached its final state: wake the jobs that wait for it, and its webhook.</summary>
    public async Task OnJobFinishedAsync(string id)
    {
        if (!JobId.IsWellFormed(id)) return;
        var db = Db;
        var dependents = (string?)await db.HashGetAsync(keys.Job(id).Job, "dependents");
        var batch = db.CreateBatch();
        var writes = new List<Task> { batch.SortedSetAddAsync(keys.Webhooks, id, 0, SortedSetWhen.Exists | SortedSetWhen.LessThan) };
        foreach (var dep in dependents?.Split(',') ?? [])
            writes.Add(batch.SortedSetAddAsync(keys.Due, dep, 0, SortedSetWhen.Exists | SortedSetWhen.LessThan));
        batch.Execute();
        await Task.WhenAll(writes);
    }

    /// <summary>Fails the jobs that ran past their timeoutSeconds. Returns how many.</summary>
    public async Task<int> EnforceTimeoutsAsync()
    {
        var (_, due) = await ClaimAsync(keys.Timeouts, Batch);
        var failed = await Task.WhenAll(due.Select(async d =>
        {
            var db = Db;
            var r = (RedisResult[])(await db.RunAsync(LuaScripts.Timeout, keys.Job(d.Member), [RetentionMs, Channel, d.Member]))!;
            if ((string)r[0]! == "later")
            {
                await db.SortedSetAddAsync(keys.Timeouts, d.Member, (long)(double)r[1]);
                return false;
            }
            await db.SortedSetRemoveAsync(keys.Timeouts, d.Member);
            return (string)r[0]! == "failed";
        }));
        return failed.Count(f => f);
    }
}
