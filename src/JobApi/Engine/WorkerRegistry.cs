using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>One worker as <c>GET /v1/workers</c> shows it.</summary>
public sealed record WorkerInfo(string Id, string Host, DateTime StartedAt, DateTime HeartbeatAt, int Concurrency, IReadOnlyList<RunningShard> Running);

/// <summary>A shard a worker is computing now.</summary>
public sealed record RunningShard(string JobId, int Index);

public sealed record WorkerPage(IReadOnlyList<WorkerInfo> Items);

[JsonSerializable(typeof(WorkerInfo))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class WorkerJsonContext : JsonSerializerContext;

/// <summary>
/// The registry of live workers: each worker writes its record (a JSON string with a TTL) every few seconds
/// and keeps its id in an index ZSET; a worker whose record expired is gone and is pruned from the index.
/// </summary>
public sealed class WorkerRegistry(IConnectionMultiplexer redis, RedisKeys keys)
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan RecordTtl = TimeSpan.FromSeconds(10);
    private const int MaxListed = 1000;

    public async Task BeatAsync(WorkerInfo worker)
    {
        var json = JsonSerializer.Serialize(worker, WorkerJsonContext.Default.WorkerInfo);
        var batch = redis.GetDatabase().CreateBatch();
        var set = batch.StringSetAsync(keys.Worker(worker.Id), json, RecordTtl);
        var index = batch.SortedSetAddAsync(keys.WorkerIndex, worker.Id, new DateTimeOffset(worker.HeartbeatAt).ToUnixTimeMilliseconds());
        var expire = batch.KeyExpireAsync(keys.WorkerIndex, TimeSpan.FromDays(1)); // the index itself goes when no worker is left
        batch.Execute();
        await Task.WhenAll(set, index, expire);
    }

    public async Task RemoveAsync(string workerId)
    {
        var db = redis.GetDatabase();
        await db.KeyDeleteAsync(keys.Worker(workerId));
        await db.SortedSetRemoveAsync(keys.WorkerIndex, workerId);
    }

    /// <summary>Live workers, most recent heartbeat first.</summary>
    public async Task<WorkerPage> ListAsync()
    {
        var db = redis.GetDatabase();
        var ids = await db.SortedSetRangeByRankAsync(keys.WorkerIndex, 0, MaxListed - 1, Order.Descending);
        var batch = db.CreateBatch();
        var reads = ids.Select(id => batch.StringGetAsync(keys.Worker(id!))).ToArray();
        batch.Execute();
        var items = new List<WorkerInfo>(ids.Length);
        var gone = new List<RedisValue>();
        for (var i = 0; i < ids.Length; i++)
        {
            var json = await reads[i];
            if (json.IsNull) gone.Add(ids[i]);
            else if (JsonSerializer.Deserialize((string)json!, WorkerJsonContext.Default.WorkerInfo) is { } worker) items.Add(worker);
        }
        if (gone.Count > 0) await db.SortedSetRemoveAsync(keys.WorkerIndex, gone.ToArray());
        return new WorkerPage(items);
    }
}
