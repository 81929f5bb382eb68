using JobApi.Engine;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>
/// The safety sweep. Expired leases are reaped inside the lease script whenever a worker visits a job;
/// this service makes sure every unfinished job keeps being visited: a job that no worker has looked at
/// for a while (its entry in the rotation was lost, e.g. to a Redis restart inside the fsync window) is
/// put back. It also forgets index entries of jobs whose retention has passed.
/// </summary>
public sealed partial class LeaseReaper(IConnectionMultiplexer redis, RedisKeys keys, IOptions<JobApiOptions> options, ILogger<LeaseReaper> logger)
    : BackgroundService
{
    private const int Page = 500;
    private const int TrimPagesPerSweep = 20;
    private RedisValue? _trimCursor;
    private readonly WorkerOptions _worker = options.Value.Worker;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromMilliseconds(Math.Max(_worker.LeaseTtl.TotalMilliseconds / 3, _worker.IdlePoll.TotalMilliseconds));
        using var timer = new PeriodicTimer(period);
        while (await timer.WaitForNextTickAsync(stoppingToken))
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
    }

    /// <summary>One pass over the unfinished jobs. Returns how many were put back into rotation.</summary>
    public async Task<int> SweepAsync()
    {
        var db = redis.GetDatabase();
        var time = (RedisValue[])(await db.ExecuteAsync("TIME"))!;
        var nowMs = (long)time[0] * 1000 + (long)time[1] / 1000;
        var staleAfter = (long)(_worker.LeaseTtl.TotalMilliseconds + 3 * _worker.IdlePoll.TotalMilliseconds);
        var requeued = 0;
        for (long start = 0; ; start += Page)
        {
            var entries = await db.SortedSetRangeByRankWithScoresAsync(keys.Pending, start, start + Page - 1);
            if (entries.Length == 0) break;
            var batch = db.CreateBatch();
            var reads = entries.Select(e => batch.HashGetAsync(keys.Job(e.Element!).Job, ["state", "seenAt", "priority"])).ToArray();
            batch.Execute();
            for (var i = 0; i < entries.Length; i++)
            {
                var id = (string)entries[i].Element!;
                var v = await reads[i];
                if (v[0].IsNull || JobStates.IsFinal(v[0]!))
                {
                    // Gone (retention passed, or never created) or finished: nothing left to run.
                    if (!v[0].IsNull || nowMs - (long)entries[i].Score > 60_000)
                        await db.SortedSetRemoveAsync(keys.Pending, id);
                    continue;
                }
                // A waiting job is out of rotation on purpose: the scheduler queues it when it is due.
                if (v[0] == JobStates.Waiting) continue;
                var seen = v[1].IsNull ? (long)entries[i].Score : (long)(double)v[1];
                var priority = v[2].IsNull ? 0 : (int)v[2];
                if (nowMs - seen > staleAfter && await db.ListPositionAsync(keys.ActiveBand(priority), id) < 0)
                {
                    await db.ListLeftPushAsync(keys.ActiveBand(priority), id);
                    if (priority != 0) await db.SortedSetAddAsync(keys.ActiveBands, priority, priority);
                    await db.PublishAsync(keys.NudgeChannel, id);
                    Log.Requeued(logger, id);
                    requeued++;
                }
            }
            if (entries.Length < Page) break;
        }
        await TrimIndexAsync(db);
        return requeued;
    }

    /// <summary>Walks the job index a few pages per sweep (resuming where the last sweep stopped, wrapping at the
    /// end) and drops the entries whose job has expired, so the index shrinks back as retention passes.</summary>
    private async Task TrimIndexAsync(IDatabase db)
    {
        for (var page = 0; page < TrimPagesPerSweep; page++)
        {
            var ids = await db.SortedSetRangeByValueAsync(keys.JobIndex, _trimCursor ?? default, default,
                _trimCursor is null ? Exclude.None : Exclude.Start, Order.Ascending, 0, Page);
            if (ids.Length == 0)
            {
                _trimCursor = null; // end of the index: start over next sweep
                return;
            }
            var batch = db.CreateBatch();
            var exists = ids.Select(id => batch.KeyExistsAsync(keys.Job(id!).Job)).ToArray();
            batch.Execute();
            var gone = new List<RedisValue>();
            for (var i = 0; i < ids.Length; i++)
                if (!await exists[i]) gone.Add(ids[i]);
            if (gone.Count > 0) await db.SortedSetRemoveAsync(keys.JobIndex, gone.ToArray());
            _trimCursor = ids[^1];
        }
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Lease sweep failed; it runs again next period")]
        public static partial void SweepFailed(ILogger logger, Exception exception);

        [LoggerMessage(21, LogLevel.Information, "Job {JobId} was out of rotation; put back")]
        public static partial void Requeued(ILogger logger, string jobId);
    }
}
