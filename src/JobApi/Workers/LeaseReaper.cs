using System.Collections.Concurrent;
using JobApi.Engine;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>
/// The safety sweep. Expired leases are reaped inside the lease script whenever a worker visits a job;
/// this service makes sure every unfinished job keeps being visited: a job that no worker has looked at
/// for a while (its entry in the rotation was lost, e.g. to a Redis restart inside the fsync window) is
/// put back (also one a late drop from rotation took out after a retry, when the worker that dropped it died before
/// checking it again: such a drop leaves the pending entry). It also forgets the pending entries of finished jobs and
/// the index entries of jobs whose retention has passed, and releases the quota share of finished jobs.
/// </summary>
public sealed partial class LeaseReaper(
    IConnectionMultiplexer redis, RedisKeys keys, TenantQuota quota, IOptions<JobApiOptions> options, ILogger<LeaseReaper> logger)
    : BackgroundService
{
    private const int Page = 500;
    private const int TrimPage = 200;
    private const int TrimPagesPerSweep = 50;
    private const int SettlePerSweep = 2000;
    private readonly ConcurrentDictionary<RedisKey, RedisValue> _trimCursors = new();
    private readonly WorkerOptions _worker = options.Value.Worker;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromMilliseconds(Math.Max(_worker.LeaseTtl.TotalMilliseconds / 3, _worker.IdlePoll.TotalMilliseconds));
        using var timer = new PeriodicTimer(period);
        // The first sweep as the node starts, not a period later: a node restarted after a crash puts stale work back at
        // once, and the sweep's code is compiled before the node's first jobs rather than in the middle of one.
        do
        {
            try
            {
                await SweepAsync();
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                Log.SweepFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One pass over the unfinished jobs of every partition. Returns how many were put back into rotation.</summary>
    public async Task<int> SweepAsync()
    {
        var db = redis.GetDatabase();
        // Redis's clock (on a cluster, any node's: their skew is far below the staleness threshold).
        var time = (RedisValue[])(await db.ExecuteAsync("TIME"))!;
        var nowMs = (long)time[0] * 1000 + (long)time[1] / 1000;
        var requeued = 0;
        for (var partition = 0; partition < keys.Partitions; partition++)
        {
            requeued += await SweepPartitionAsync(db, partition, nowMs);
            await TrimIndexAsync(db, keys.JobIndex(partition));
        }
        await foreach (var tenant in db.SetScanAsync(keys.TenantSet, pageSize: 500))
        {
            await TrimIndexAsync(db, keys.Tenant(tenant!).Jobs);
            // Finished and expired jobs stop counting, so the quota ledger shrinks too: a slice of it per sweep, so that a
            // backlog of open jobs costs each sweep a bounded number of reads (a submit a cap would refuse settles it all).
            await quota.SettleSliceAsync(tenant!, SettlePerSweep);
        }
        return requeued;
    }

    private async Task<int> SweepPartitionAsync(IDatabase db, int partition, long nowMs)
    {
        var pending = keys.Pending(partition);
        var staleAfter = (long)(_worker.LeaseTtl.TotalMilliseconds + 3 * _worker.IdlePoll.TotalMilliseconds);
        var requeued = 0;
        // Only jobs created more than staleAfter ago can have gone unseen that long (a job's score is its creation time):
        // a backlog of fresh jobs costs the sweep nothing. Finished young entries are left to the workers' drops, or to
        // a later sweep.
        for (long start = 0; ; start += Page)
        {
            var entries = await db.SortedSetRangeByScoreWithScoresAsync(pending, double.NegativeInfinity, nowMs - staleAfter, skip: start, take: Page);
            if (entries.Length == 0) break;
            var batch = db.CreateBatch();
            var reads = entries.Select(e => batch.HashGetAsync(keys.Job(e.Element!).Job, ["state", "seenAt", "priority"])).ToArray();
            batch.Execute();
            var forget = new List<SortedSetEntry>();
            for (var i = 0; i < entries.Length; i++)
            {
                var id = (string)entries[i].Element!;
                var v = await reads[i];
                if (v[0].IsNull || JobStates.IsFinal(v[0]!))
                {
                    // Gone (retention passed, or never created) or finished: nothing left to run.
                    if (!v[0].IsNull || nowMs - (long)entries[i].Score > 60_000) forget.Add(entries[i]);
                    continue;
                }
                // A waiting job is out of rotation on purpose: the scheduler queues it when it is due.
                if (v[0] == JobStates.Waiting) continue;
                var seen = v[1].IsNull ? (long)entries[i].Score : (long)(double)v[1];
                var priority = v[2].IsNull ? 0 : (int)v[2];
                if (nowMs - seen > staleAfter && await JobStore.EnterRotation(db, keys, id, priority))
                {
                    await db.PublishAsync(keys.NudgeChannel, id);
                    Log.Requeued(logger, id);
                    requeued++;
                }
            }
            if (forget.Count > 0) await ForgetAsync(db, pending, forget);
            if (entries.Length < Page) break;
        }
        return requeued;
    }

    /// <summary>Removes the pending entries of jobs found finished or gone, then reads their states again: a failed job
    /// retried between the first read and the removal (its retry found the entry and left it as it was) gets its entry
    /// back, so the sweep keeps watching it until it ends.</summary>
    private async Task ForgetAsync(IDatabase db, RedisKey pending, List<SortedSetEntry> entries)
    {
        await db.SortedSetRemoveAsync(pending, [.. entries.Select(e => e.Element)]);
        var batch = db.CreateBatch();
        var states = entries.Select(e => batch.HashGetAsync(keys.Job(e.Element!).Job, "state")).ToArray();
        batch.Execute();
        for (var i = 0; i < entries.Count; i++)
        {
            var state = await states[i];
            if (!state.IsNull && !JobStates.IsFinal(state!))
                await db.SortedSetAddAsync(pending, entries[i].Element, entries[i].Score, SortedSetWhen.NotExists);
        }
    }

    /// <summary>Forgets the entries of one index (a partition's job index or a tenant's job list) whose job has expired,
    /// at a cost that follows the work to do rather than the index's size. Ids sort by creation time and retention is
    /// mostly first in, first out, so expired jobs gather at the head: the sweep reads the head a page at a time while
    /// pages still hold expired entries, then one page further on from where the last sweep stopped (wrapping at the
    /// end), which finds the few that expire out of order (a shorter retainSeconds, a job behind one that lives long).
    /// An idle index with nothing to forget costs two small pages per period.</summary>
    private async Task TrimIndexAsync(IDatabase db, RedisKey index)
    {
        for (var page = 0; page < TrimPagesPerSweep; page++)
            if (await TrimPageAsync(db, index, null) is not { Gone: > 0 }) break;
        var cursor = _trimCursors.TryGetValue(index, out var c) ? c : (RedisValue?)null;
        if (await TrimPageAsync(db, index, cursor) is { Last: var last }) _trimCursors[index] = last;
        else _trimCursors.TryRemove(index, out _); // end of the index: start over next sweep
    }

    /// <summary>Reads one page of the index after <paramref name="after"/> (from the head when null), removes the entries
    /// whose job has expired, and returns how many it removed and the page's last id; null when the page was empty.</summary>
    private async Task<(int Gone, RedisValue Last)?> TrimPageAsync(IDatabase db, RedisKey index, RedisValue? after)
    {
        var ids = await db.SortedSetRangeByValueAsync(index, after ?? default, default,
            after is null ? Exclude.None : Exclude.Start, Order.Ascending, 0, TrimPage);
        if (ids.Length == 0) return null;
        var batch = db.CreateBatch();
        var exists = ids.Select(id => batch.KeyExistsAsync(keys.Job(id!).Job)).ToArray();
        batch.Execute();
        var gone = new List<RedisValue>();
        for (var i = 0; i < ids.Length; i++)
            if (!await exists[i]) gone.Add(ids[i]);
        if (gone.Count > 0) await db.SortedSetRemoveAsync(index, gone.ToArray());
        return (gone.Count, ids[^1]);
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Lease sweep failed; it runs again next period")]
        public static partial void SweepFailed(ILogger logger, Exception exception);

        [LoggerMessage(21, LogLevel.Information, "Job {JobId} was out of rotation; put back")]
        public static partial void Requeued(ILogger logger, string jobId);
    }
}
