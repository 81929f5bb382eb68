using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>The job list: the partitions' indexes merged newest first.</summary>
public sealed partial class JobStore
{
    /// <summary>Jobs newest first (ids sort by creation time), optionally filtered; the cursor is the last id returned.
    /// Each page merges the partitions' indexes: the newest ids below the cursor from each, in one round trip.</summary>
    public async Task<JobPage> ListAsync(string? state, string? kind, string? cursor, int limit)
    {
        var db = Db;
        var items = new List<JobStatus>(limit);
        RedisValue upper = cursor is null ? default : cursor;
        var pageSize = limit * 2;
        string? lastScanned = null;
        // Filters may skip entries; read a bounded number of index pages so one request stays cheap.
        for (var page = 0; page < 20; page++)
        {
            var ids = await NewestIdsAsync(db, upper, pageSize);
            var batch = db.CreateBatch();
            var reads = ids.Select(i => ReadStatusAsync(batch, i)).ToArray();
            batch.Execute();
            for (var i = 0; i < ids.Length; i++)
            {
                lastScanned = ids[i];
                var status = await reads[i];
                if (status is null || (state is not null && status.State != state) || (kind is not null && status.Kind != kind)) continue;
                items.Add(status);
                if (items.Count == limit) return new JobPage(items, lastScanned);
            }
            if (ids.Length < pageSize) return new JobPage(items, null);
            upper = lastScanned;
        }
        return new JobPage(items, lastScanned);
    }

    /// <summary>The <paramref name="count"/> greatest ids below <paramref name="upper"/> (all ids when it is null) over
    /// every partition's index, greatest first.</summary>
    private async Task<string[]> NewestIdsAsync(IDatabase db, RedisValue upper, int count)
    {
        var exclude = upper.IsNull ? Exclude.None : Exclude.Stop;
        if (keys.Partitions == 1)
            return (await db.SortedSetRangeByValueAsync(keys.JobIndex(0), default, upper, exclude, Order.Descending, 0, count)).Select(v => (string)v!).ToArray();
        var batch = db.CreateBatch();
        var pages = Enumerable.Range(0, keys.Partitions)
            .Select(p => batch.SortedSetRangeByValueAsync(keys.JobIndex(p), default, upper, exclude, Order.Descending, 0, count)).ToArray();
        batch.Execute();
        var all = (await Task.WhenAll(pages)).SelectMany(p => p).Select(v => (string)v!).ToList();
        all.Sort(StringComparer.Ordinal);
        all.Reverse();
        return [.. all.Take(count)];
    }
}
