using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>The job list: the tenant's own index (one key in the tenant's slot, so it is one read on a cluster too).</summary>
public sealed partial class JobStore
{
    /// <summary>The tenant's jobs newest first (ids sort by creation time), optionally filtered; the cursor is the last id returned.
    /// Ids of expired jobs are skipped here and trimmed from the index by the sweep.</summary>
    public async Task<JobPage> ListAsync(string tenant, string? state, string? kind, string? cursor, int limit)
    {
        var db = Db;
        var index = keys.Tenant(tenant).Jobs;
        var items = new List<JobStatus>(limit);
        RedisValue upper = cursor is null ? default : cursor;
        var pageSize = limit * 2;
        string? lastScanned = null;
        // Filters may skip entries; read a bounded number of index pages so one request stays cheap.
        for (var page = 0; page < 20; page++)
        {
            var ids = await db.SortedSetRangeByValueAsync(index, default, upper, upper.IsNull ? Exclude.None : Exclude.Stop, Order.Descending, 0, pageSize);
            var batch = db.CreateBatch();
            var reads = ids.Select(i => ReadStatusAsync(batch, (string)i!)).ToArray();
            batch.Execute();
            for (var i = 0; i < ids.Length; i++)
            {
                lastScanned = ids[i]!;
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
}
