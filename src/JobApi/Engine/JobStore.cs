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
    JobApiMetrics metrics, ILogger<JobStore> logger, FaultInjection faults, JobOwners owners, RedisTopology topology,
    IEnumerable<ILocalShardRunner> localRunners, RecentResults recent)
{
    /// <summary>This process's worker, on a node with both roles (see <see cref="ILocalShardRunner"/>).</summary>
    private readonly ILocalShardRunner? localRunner = localRunners.FirstOrDefault();

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
        var owner = owners.TryGet(id) ?? (await ReadOwnerAsync(id))?.Tenant;
        return owner is not null && !string.Equals(owner, tenant, StringComparison.Ordinal);
    }

    /// <summary>The tenant and final state of a job whose final event came, or null when it is gone or no longer final (a
    /// retry reopened it: its next end has an event of its own). A succeeded job whose event brought its result and whose
    /// tenant this node knows (submitted or looked up here) needs no read; any other costs one.</summary>
    public async Task<(string Tenant, string State)?> EndOfAsync(FinalEvent ended)
    {
        if (ended.Result is not null && owners.TryGet(ended.JobId) is { } owner) return (owner, JobStates.Succeeded);
        return await ReadOwnerAsync(ended.JobId) is { } read && JobStates.IsFinal(read.State) ? read : null;
    }

    /// <summary>The job's tenant (jobs from before tenants existed belong to <c>default</c>), remembered, and its state;
    /// null when there is no such job.</summary>
    private async Task<(string Tenant, string State)?> ReadOwnerAsync(string id)
    {
        var v = await Db.HashGetAsync(keys.Job(id).Job, ["state", "tenant"]);
        if (v[0].IsNull) return null;
        var owner = v[1].IsNull ? Tenants.Default : (string)v[1]!;
        owners.Remember(id, owner);
        return (owner, (string)v[0]!);
    }

    internal static async Task<JobStatus?> ReadStatusAsync(IDatabaseAsync db, string id, RedisKeys keys)
    {
        var r = await db.RunAsync(LuaScripts.Status, keys.Job(id), JobStatus.Fields);
        return r.IsNull ? null : JobStatus.FromValues(id, (RedisValue[])r!);
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

/// <summary>What a submit did: the job's status (null when refused), whether it created the job, the cap that refused
/// it, and the result of a job that ended within its submit (a shard run ahead: <see cref="ILocalShardRunner.RunAhead"/>).</summary>
public sealed record SubmitOutcome(JobStatus? Status, bool Created, QuotaRefusal? Quota = null, StoredResult? Result = null)
{
    public static readonly SubmitOutcome IdempotencyConflict = new(null, false);
    public static SubmitOutcome OverQuota(QuotaRefusal refusal) => new(null, false, refusal);
}

/// <summary>A result as stored: the JSON of its fields but <c>items</c>, and for results with items their
/// total and one page of them (each a JSON value).</summary>
public sealed record StoredResult(string Json, long? Total, RedisValue[] Items);

public sealed record ShardPage(IReadOnlyList<ShardStatus> Items, string? NextCursor);

public sealed record JobPage(IReadOnlyList<JobStatus> Items, string? NextCursor);
