using System.Globalization;
using JobApi.JobKinds;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Shard results read one at a time from the job's results hash.</summary>
internal sealed class RedisShardResults(IDatabase db, JobKeys job, int count) : IShardResults
{
    public int Count => count;

    public async ValueTask<string> GetAsync(int index, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return (string?)await db.HashGetAsync(job.Results, index.ToString(CultureInfo.InvariantCulture))
            ?? throw new InvalidOperationException($"Shard {index} of job {job.JobId} has no committed result.");
    }
}

/// <summary>Writes a merge's items to its staging list in batches, so a result of millions of items never sits
/// in memory whole. The list expires on its own if the merge is abandoned; the finish script renames it.</summary>
internal sealed class RedisResultItems(IDatabase db, RedisKey staging) : IResultItems
{
    private const int BatchSize = 10_000;
    private static readonly TimeSpan StagingTtl = TimeSpan.FromHours(1);
    private readonly List<RedisValue> _buffer = new(BatchSize);

    public long Count { get; private set; }

    public static async Task<RedisResultItems> StartAsync(IDatabase db, RedisKey staging)
    {
        await db.KeyDeleteAsync(staging); // leftovers of an earlier attempt by the same worker
        return new RedisResultItems(db, staging);
    }

    public async ValueTask AddAsync(string itemJson, CancellationToken cancellationToken)
    {
        _buffer.Add(itemJson);
        Count++;
        if (_buffer.Count >= BatchSize) await FlushAsync(cancellationToken);
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_buffer.Count == 0) return;
        cancellationToken.ThrowIfCancellationRequested();
        var batch = db.CreateBatch();
        var push = batch.ListRightPushAsync(staging, [.. _buffer]);
        var ttl = batch.KeyExpireAsync(staging, StagingTtl);
        batch.Execute();
        await Task.WhenAll(push, ttl);
        _buffer.Clear();
    }
}
