using System.Collections.Concurrent;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>
/// Per-tenant caps on unfinished jobs, their shards and the bytes they hold. The counters live in the
/// tenant's own slot and change only in <c>quota.lua</c>, whose ledger (job id → amounts) makes counting and
/// releasing each job exactly-once. A job is counted when it is submitted; it is released once it is final
/// (or gone), found by a settle pass that runs when a cap would refuse a submit, so the common path costs
/// one script call. Deviation from "decrement in the finish script": the job's scripts run in the job's
/// slot and cannot touch the tenant's keys on Redis Cluster.
/// </summary>
public sealed class TenantQuota(IConnectionMultiplexer redis, RedisKeys keys, IOptions<JobApiOptions> options)
{
    private static readonly TimeSpan SettleInterval = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<string, long> _lastSettle = new(StringComparer.Ordinal);
    private readonly LimitsOptions _limits = options.Value.Limits;
    private readonly long _ttlMs = (long)(options.Value.Retention + TimeSpan.FromDays(1)).TotalMilliseconds;

    /// <summary>No cap is set: nothing is counted.</summary>
    public bool Off => _limits is { MaxRunningJobsPerTenant: 0, MaxQueuedShardsPerTenant: 0, MaxStoredBytesPerTenant: 0 };

    /// <summary>Counts the job against the tenant's caps; returns the refusal when a cap would be exceeded.</summary>
    public Task<QuotaRefusal?> ReserveAsync(string tenant, string jobId, int shards, long bytes) =>
        ReserveAsync(tenant, jobId, shards, bytes, jobs: 1);

    /// <summary>Counts an uploaded input's bytes against the tenant's stored-bytes cap (it is not a job and holds no shards).</summary>
    public Task<QuotaRefusal?> ReserveInputAsync(string tenant, string inputId, long bytes) =>
        ReserveAsync(tenant, InputLedgerId(inputId), 0, bytes, jobs: 0);

    /// <summary>Releases an input's bytes (no effect when they were not counted or were released already).</summary>
    public Task ReleaseInputAsync(string tenant, string inputId) => ReleaseAsync(tenant, InputLedgerId(inputId));

    private static string InputLedgerId(string inputId) => InputLedgerPrefix + inputId;
    private const string InputLedgerPrefix = "input:";

    private Task<QuotaRefusal?> ReserveAsync(string tenant, string ledgerId, int shards, long bytes, int jobs) =>
        Off ? Task.FromResult<QuotaRefusal?>(null)
            : WithSettleAsync(tenant, () => TryReserveAsync(tenant, ledgerId, shards, bytes, jobs), refusal => refusal is not null);

    /// <summary>Runs <paramref name="reserve"/> (a call that counts something against the tenant's caps, or is refused);
    /// when a cap refused it and the tenant's ledger was not settled within the last second, settles the ledger and
    /// runs it again.</summary>
    internal async Task<T> WithSettleAsync<T>(string tenant, Func<Task<T>> reserve, Func<T, bool> refused)
    {
        var outcome = await reserve();
        if (!refused(outcome) || !ShouldSettle(tenant)) return outcome;
        await SettleAsync(tenant);
        return await reserve();
    }

    private async Task<QuotaRefusal?> TryReserveAsync(string tenant, string ledgerId, int shards, long bytes, int jobs)
    {
        var t = keys.Tenant(tenant);
        var r = (RedisResult[])(await redis.GetDatabase().EvaluateAsync(LuaScripts.Quota, [t.Usage, t.Open], ReserveArgs(ledgerId, shards, bytes, jobs)))!;
        return (int)r[0] == 1 ? null : new QuotaRefusal((string)r[1]!, (long)r[2], (long)r[3]);
    }

    /// <summary>quota.lua's arguments to count a ledger entry (a job: <paramref name="jobs"/> 1) against the caps.</summary>
    internal RedisValue[] ReserveArgs(string ledgerId, int shards, long bytes, int jobs = 1) =>
        ["reserve", ledgerId, shards, bytes, _limits.MaxRunningJobsPerTenant, _limits.MaxQueuedShardsPerTenant, _limits.MaxStoredBytesPerTenant, _ttlMs, jobs];

    /// <summary>Releases a job's share (no effect when it was not counted or was released already).</summary>
    public Task ReleaseAsync(string tenant, string jobId) => ReleaseAsync(tenant, [jobId]);

    /// <summary>Releases the shares of several jobs of one tenant in one script call; returns how many were counted.</summary>
    public async Task<int> ReleaseAsync(string tenant, IReadOnlyCollection<string> jobIds)
    {
        var t = keys.Tenant(tenant);
        RedisValue[] args = ["release", .. jobIds.Select(id => (RedisValue)id)];
        return (int)await redis.GetDatabase().EvaluateAsync(LuaScripts.Quota, [t.Usage, t.Open], args);
    }

    /// <summary>Releases every counted job of the tenant that is final, or gone for longer than a minute
    /// (a job is counted just before its keys are written), and every counted input that is gone (expired or
    /// deleted; an input is counted while its chunks are already there, so a gone one has neither record nor chunks).</summary>
    public async Task<int> SettleAsync(string tenant) => await SettleAsync(tenant, (await ScanLedgerAsync(tenant, 0, int.MaxValue)).Ids);

    /// <summary><see cref="SettleAsync(string)"/> over the next slice of about <paramref name="entries"/> ledger entries,
    /// from where the previous slice of this process ended (HSCAN's cursor), so a periodic pass costs the same whatever
    /// the number of open jobs; a ledger of n entries is gone through once every n / <paramref name="entries"/> calls.
    /// A submit that a cap would refuse still settles the whole ledger first.</summary>
    public async Task<int> SettleSliceAsync(string tenant, int entries)
    {
        var (ids, cursor) = await ScanLedgerAsync(tenant, _sliceCursors.TryGetValue(tenant, out var c) ? c : 0, entries);
        if (cursor == 0) _sliceCursors.TryRemove(tenant, out _);
        else _sliceCursors[tenant] = cursor;
        return await SettleAsync(tenant, ids);
    }

    /// <summary>The ledger entries from HSCAN's <paramref name="cursor"/> on, page by page, until about
    /// <paramref name="entries"/> are read or the scan is through (cursor 0).</summary>
    private async Task<(List<string> Ids, long Cursor)> ScanLedgerAsync(string tenant, long cursor, int entries)
    {
        var db = redis.GetDatabase();
        var open = keys.Tenant(tenant).Open;
        var ids = new List<string>();
        do
        {
            var page = (RedisResult[])(await db.ExecuteAsync("HSCAN", open, cursor, "COUNT", 500))!;
            cursor = long.Parse((string)page[0]!, System.Globalization.CultureInfo.InvariantCulture);
            var pairs = (RedisResult[])page[1]!;
            for (var i = 0; i < pairs.Length; i += 2) ids.Add((string)pairs[i]!);
        }
        while (cursor != 0 && ids.Count < entries);
        return (ids, cursor);
    }

    private readonly ConcurrentDictionary<string, long> _sliceCursors = new(StringComparer.Ordinal);

    /// <summary>Releases those of <paramref name="ids"/> (ledger entries of the tenant) that are final or gone.</summary>
    private async Task<int> SettleAsync(string tenant, List<string> ids)
    {
        var db = redis.GetDatabase();
        var released = 0;
        foreach (var page in ids.Chunk(500))
        {
            var batch = db.CreateBatch();
            // Per ledger entry: whether it can be released, read as a job's state or an input's existence.
            var reads = page.Select(id => IsInputEntry(id, out var inputId)
                ? (Job: null, Input: batch.KeyExistsAsync([keys.Input(inputId).Meta, keys.Input(inputId).Chunks]))
                : (Job: batch.HashGetAsync(keys.Job(id).Job, "state"), Input: (Task<long>?)null)).ToArray();
            batch.Execute();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var over = new List<string>();
            for (var i = 0; i < page.Length; i++)
            {
                bool gone;
                if (reads[i].Input is { } exists) gone = await exists == 0;
                else
                {
                    var state = await reads[i].Job!;
                    gone = state.IsNull ? now - JobId.TimestampMs(page[i]) > 60_000 : JobStates.IsFinal(state!);
                }
                if (gone) over.Add(page[i]);
            }
            if (over.Count > 0) released += await ReleaseAsync(tenant, over);
        }
        return released;
    }

    private static bool IsInputEntry(string ledgerId, out string inputId)
    {
        inputId = ledgerId.StartsWith(InputLedgerPrefix, StringComparison.Ordinal) ? ledgerId[InputLedgerPrefix.Length..] : "";
        return inputId.Length > 0;
    }

    private bool ShouldSettle(string tenant)
    {
        var now = Environment.TickCount64;
        var last = _lastSettle.GetOrAdd(tenant, long.MinValue / 2);
        if (now - last < SettleInterval.TotalMilliseconds) return false;
        return _lastSettle.TryUpdate(tenant, now, last);
    }
}

/// <summary>A submit refused by a per-tenant cap: which setting, what is used now, and the cap.</summary>
public sealed record QuotaRefusal(string Limit, long Used, long Max);
