using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.Telemetry;

/// <summary>
/// The queue depth for the <c>jobapi_queue_depth</c> gauge: ready plus delayed shards over unfinished jobs
/// (the first 1,000 of the pending indexes, shared between the queue partitions), not counting <c>waiting</c>
/// jobs (delayed or dependent: no worker may run their shards yet). A scrape returns the last sample and starts
/// a new one in the background when it is older than two seconds, so a scrape never waits on Redis.
/// </summary>
public sealed class QueueDepthSampler(IConnectionMultiplexer redis, RedisKeys keys)
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(2);
    private const int MaxJobs = 1000;
    private long _depth;
    private long _sampledAtTicks;
    private int _sampling;

    public long Observe()
    {
        if (DateTime.UtcNow.Ticks - Volatile.Read(ref _sampledAtTicks) > MaxAge.Ticks && Interlocked.Exchange(ref _sampling, 1) == 0)
            _ = SampleAsync();
        return Volatile.Read(ref _depth);
    }

    private static readonly RedisValue[] JobFields = ["state", "fence", "ready"];

    /// <summary>Reads the depth now (also used by the first scrape's caller in tests).</summary>
    public async Task<long> SampleAsync()
    {
        try
        {
            var db = redis.GetDatabase();
            // The first 1,000 unfinished jobs in all, shared between the queue partitions, read in one round trip.
            var perPartition = Math.Max(1, MaxJobs / keys.Partitions);
            var lists = db.CreateBatch();
            var pages = Enumerable.Range(0, keys.Partitions).Select(p => lists.SortedSetRangeByRankAsync(keys.Pending(p), 0, perPartition - 1)).ToArray();
            lists.Execute();
            var ids = (await Task.WhenAll(pages)).SelectMany(page => page).ToArray();
            var batch = db.CreateBatch();
            var reads = ids.Select(id =>
            {
                var job = keys.Job(id!);
                return (Job: batch.HashGetAsync(job.Job, JobFields), Ready: batch.ListLengthAsync(job.Ready), Delayed: batch.SortedSetLengthAsync(job.Delayed));
            }).ToArray();
            batch.Execute();
            long depth = 0;
            foreach (var (fields, ready, delayed) in reads)
            {
                var h = await fields;
                if ((string?)h[0] == JobStates.Waiting) continue;
                // A one-shard job never leased keeps its ready shard in its hash (submit.lua).
                depth += await ready + await delayed + (h[1] == "0" && h[2] == "0" ? 1 : 0);
            }
            Volatile.Write(ref _depth, depth);
            Volatile.Write(ref _sampledAtTicks, DateTime.UtcNow.Ticks);
            return depth;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return Volatile.Read(ref _depth);
        }
        finally
        {
            Volatile.Write(ref _sampling, 0);
        }
    }
}
