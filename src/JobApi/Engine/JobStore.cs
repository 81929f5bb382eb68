using System.Globalization;
using JobApi.JobKinds;
using JobApi.Options;
using JobApi.Telemetry;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>The API side of the engine: submit, read, cancel. Workers use <see cref="ShardQueue"/>.</summary>
public sealed partial class JobStore(
    IConnectionMultiplexer redis, RedisKeys keys, JobEvents events, TenantQuota quota, IOptions<JobApiOptions> options,
    JobApiMetrics metrics, ILogger<JobStore> logger, FaultInjection faults)
{
    private readonly JobApiOptions _options = options.Value;
    private IDatabase Db => redis.GetDatabase();

    public async Task<JobStatus?> GetStatusAsync(string id)
    {
        if (!JobId.IsWellFormed(id)) return null;
        return await ReadStatusAsync(Db, id);
    }

    private Task<JobStatus?> ReadStatusAsync(IDatabaseAsync db, string id) => ReadStatusAsync(db, id, keys);

    /// <summary>True when the job exists and belongs to another tenant than <paramref name="tenant"/> (jobs from
    /// before tenants existed belong to <c>default</c>). Every <c>/v1/jobs/{id}</c> endpoint answers such a job
    /// as unknown (see <c>TenantResourceGuard</c>).</summary>
    public async Task<bool> BelongsToAnotherTenantAsync(string id, string tenant)
    {
        if (!JobId.IsWellFormed(id)) return false;
        var v = await Db.HashGetAsync(keys.Job(id).Job, ["state", "tenant"]);
        if (v[0].IsNull) return false;
        return !string.Equals(v[1].IsNull ? Tenants.Default : (string)v[1]!, tenant, StringComparison.Ordinal);
    }

    internal static async Task<JobStatus?> ReadStatusAsync(IDatabaseAsync db, string id, RedisKeys keys)
    {
        var r = await db.RunAsync(LuaScripts.Status, keys.Job(id), JobStatus.Fields);
        return r.IsNull ? null : JobStatus.FromValues(id, (RedisValue[])r!);
    }

    /// <summary>The status, after waiting up to <paramref name="wait"/> for the job to reach a final state.</summary>
    public async Task<JobStatus?> WaitForFinalAsync(string id, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero) return await GetStatusAsync(id);
        JobStatus? status;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait);
        while (true)
        {
            using var waiter = await events.WatchAsync(id);
            status = await GetStatusAsync(id);
            if (status is null || status.IsFinal) return status;
            try
            {
                await waiter.Signal.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return await GetStatusAsync(id);
            }
        }
    }

    /// <summary>The merged result JSON of a succeeded job, or null.</summary>
    public async Task<string?> GetResultJsonAsync(string id) => await Db.StringGetAsync(keys.Job(id).Result);

    /// <summary>The merged result with, when it has items, the items [offset, offset + limit) and their total;
    /// null when there is none. Only the page is read: the items are a Redis list.</summary>
    public async Task<StoredResult?> GetResultAsync(string id, long offset, int limit)
    {
        var job = keys.Job(id);
        var db = Db;
        var batch = db.CreateBatch();
        var head = batch.StringGetAsync(job.Result);
        var total = batch.HashGetAsync(job.Job, "items");
        var page = batch.ListRangeAsync(job.ResultItems, offset, offset + limit - 1);
        batch.Execute();
        await Task.WhenAll(head, total, page);
        var json = (string?)await head;
        if (json is null) return null;
        return (await total).IsNull ? new StoredResult(json, null, []) : new StoredResult(json, (long)await total, await page);
    }

    /// <summary>Items [start, start + count) of a result that has items.</summary>
    public async Task<RedisValue[]> GetResultItemsAsync(string id, long start, int count) =>
        await Db.ListRangeAsync(keys.Job(id).ResultItems, start, start + count - 1);

    public async Task<ShardPage?> GetShardsAsync(string id, int cursor, int limit)
    {
        var status = await GetStatusAsync(id);
        if (status is null) return null;
        var end = Math.Min(status.Shards.Total, cursor + limit);
        if (cursor >= end) return new ShardPage([], null);
        var items = await ShardRecord.ReadAsync(Db, keys.Job(id), cursor, end - cursor);
        return new ShardPage(items, end < status.Shards.Total ? end.ToString(CultureInfo.InvariantCulture) : null);
    }

    /// <summary>Cancels the job (no effect on a finished one). Returns null for an unknown job.</summary>
    public async Task<JobStatus?> CancelAsync(string id)
    {
        if (!JobId.IsWellFormed(id)) return null;
        var before = await Db.HashGetAsync(keys.Job(id).Job, "state");
        var result = await Db.RunAsync(LuaScripts.Cancel, keys.Job(id), [(long)_options.Retention.TotalMilliseconds, keys.EventsChannel.ToString(), id]);
        if (result.IsNull) return null;
        if (!before.IsNull && !JobStates.IsFinal(before!) && (string?)result == JobStates.Canceled)
        {
            metrics.JobCanceled();
            Log.Canceled(logger, id);
        }
        return await GetStatusAsync(id);
    }
}

public sealed partial class JobStore
{
    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Information, "Job {JobId} submitted: kind {Kind}, {Shards} shard(s)")]
        public static partial void Submitted(ILogger logger, string jobId, string kind, int shards);

        [LoggerMessage(41, LogLevel.Information, "Job {JobId} canceled")]
        public static partial void Canceled(ILogger logger, string jobId);
    }
}

public sealed record SubmitOutcome(JobStatus? Status, bool Created, QuotaRefusal? Quota = null)
{
    public static readonly SubmitOutcome IdempotencyConflict = new(null, false);
    public static SubmitOutcome OverQuota(QuotaRefusal refusal) => new(null, false, refusal);
}

/// <summary>A result as stored: the JSON of its fields but <c>items</c>, and for results with items their
/// total and one page of them (each a JSON value).</summary>
public sealed record StoredResult(string Json, long? Total, RedisValue[] Items);

public sealed record ShardPage(IReadOnlyList<ShardStatus> Items, string? NextCursor);

public sealed record JobPage(IReadOnlyList<JobStatus> Items, string? NextCursor);
