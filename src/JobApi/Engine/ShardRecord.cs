using System.Globalization;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Builds the shards endpoint's view from where the scripts keep shard state: inflight (running,
/// under which lease; a one-shard job's hold, its first lease, is in the job hash instead), done (succeeded: times
/// and worker; a job that succeeded under its hold has none, its shard's record is the hold's), failures (failed
/// attempts and the last error) and dead (dead-lettered). A shard in none of them is queued.</summary>
internal static class ShardRecord
{
    public static async Task<ShardStatus[]> ReadAsync(IDatabase db, JobKeys job, int start, int count)
    {
        var fields = Enumerable.Range(start, count).Select(i => (RedisValue)i).ToArray();
        var batch = db.CreateBatch();
        var inflight = batch.HashGetAsync(job.Inflight, fields);
        var done = batch.HashGetAsync(job.Done, fields);
        var failures = batch.HashGetAsync(job.Failures, fields);
        var dead = batch.SetContainsAsync(job.Dead, fields);
        var hold = start == 0 && count > 0 ? batch.HashGetAsync(job.Job, [(RedisValue)"hold", (RedisValue)"holdBy", (RedisValue)"state", (RedisValue)"finishedAt"]) : null;
        batch.Execute();
        await Task.WhenAll(inflight, done, failures, dead);

        var fenceOf = await inflight;
        var leases = new Dictionary<string, (string Worker, DateTime StartedAt)>();
        // A hold (the first lease of a one-shard job, kept in the job hash) is shard 0 in flight under its fence. A job
        // that succeeded under it has no done record: its shard's record is the hold's worker and start and the job's end.
        var doneOf = await done;
        if (hold is not null && await hold is [var holdFence, { IsNull: false } holdBy, var state, var finishedAt])
        {
            var parts = ((string)holdBy!).Split('|', 2);
            if (!holdFence.IsNullOrEmpty)
            {
                leases[(string)holdFence!] = (parts[0], Ms(parts[1]));
                if (fenceOf[0].IsNull) fenceOf[0] = holdFence;
            }
            else if (state == JobStates.Succeeded && doneOf[0].IsNull && !finishedAt.IsNull)
                doneOf[0] = $"{parts[1]}|{finishedAt}|{parts[0]}";
        }
        var fences = fenceOf.Where(f => !f.IsNull && !leases.ContainsKey((string)f!)).Distinct().ToArray();
        if (fences.Length > 0)
        {
            var records = await db.HashGetAsync(job.Batches, fences);
            for (var i = 0; i < fences.Length; i++)
            {
                if (records[i].IsNull) continue;
                var parts = ((string)records[i]!).Split('|', 3);
                leases[(string)fences[i]!] = (parts[0], Ms(parts[1]));
            }
        }

        var items = new ShardStatus[count];
        for (var k = 0; k < count; k++)
        {
            var (failed, error) = ParseFailures((await failures)[k]);
            var index = start + k;
            if ((await dead)[k])
                items[k] = new ShardStatus(index, JobStates.Failed, failed, null, null, null, error);
            else if (!doneOf[k].IsNull)
            {
                var parts = ((string)doneOf[k]!).Split('|', 3);
                items[k] = new ShardStatus(index, JobStates.Succeeded, failed + 1, parts[2], Ms(parts[0]), Ms(parts[1]), error);
            }
            else if (!fenceOf[k].IsNull && leases.TryGetValue((string)fenceOf[k]!, out var lease))
                items[k] = new ShardStatus(index, JobStates.Running, failed + 1, lease.Worker, lease.StartedAt, null, error);
            else
                items[k] = new ShardStatus(index, JobStates.Queued, failed, null, null, null, error);
        }
        return items;
    }

    private static (int Failed, string? Error) ParseFailures(RedisValue raw)
    {
        if (raw.IsNull) return (0, null);
        var text = (string)raw!;
        var bar = text.IndexOf('|');
        return (int.Parse(text[..bar], CultureInfo.InvariantCulture), text[(bar + 1)..]);
    }

    private static DateTime Ms(string ms) => DateTime.UnixEpoch.AddMilliseconds(double.Parse(ms, CultureInfo.InvariantCulture));
}
