using System.Text.Json;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Schedules in Redis: definitions in one hash, next ticks in a ZSET beside it (same slot), so that
/// pause, resume and delete are one transaction each. Firing is the scheduler's (<see cref="DueJobs.ClaimAsync"/>).
/// Every read or change for a caller names the caller's tenant: another tenant's schedule is answered as unknown.</summary>
public sealed class ScheduleStore(IConnectionMultiplexer redis, RedisKeys keys)
{
    private const int MaxListed = 1000;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private IDatabase Db => redis.GetDatabase();

    public async Task<ScheduleInfo> CreateAsync(string tenant, string cron, string timeZone, JsonElement job)
    {
        var definition = new ScheduleDefinition(JobId.New(), cron.Trim(), timeZone, false, DateTime.UtcNow, job.Clone(), tenant);
        var next = definition.NextTickAfter(await NowMsAsync());
        var tx = Db.CreateTransaction();
        _ = tx.HashSetAsync(keys.Schedules, definition.Id, JsonSerializer.Serialize(definition, Json));
        if (next is { } n) _ = tx.SortedSetAddAsync(keys.ScheduleNext, definition.Id, n);
        await tx.ExecuteAsync();
        return Info(definition, next, null);
    }

    /// <summary>The stored definition, whichever tenant owns it (the scheduler's view); null when unknown.</summary>
    public async Task<ScheduleDefinition?> GetDefinitionAsync(string id)
    {
        if (!JobId.IsWellFormed(id)) return null;
        var json = (string?)await Db.HashGetAsync(keys.Schedules, id);
        return json is null ? null : JsonSerializer.Deserialize<ScheduleDefinition>(json, Json);
    }

    /// <summary>The tenant that owns the schedule; null when unknown.</summary>
    public async Task<string?> OwnerAsync(string id) => (await GetDefinitionAsync(id))?.Owner;

    private async Task<ScheduleDefinition?> GetOwnedAsync(string id, string tenant) =>
        await GetDefinitionAsync(id) is { } d && d.Owner == tenant ? d : null;

    public async Task<ScheduleInfo?> GetAsync(string id, string tenant)
    {
        if (await GetOwnedAsync(id, tenant) is not { } definition) return null;
        return await InfoAsync(definition);
    }

    /// <summary>The tenant's schedules (up to 1,000), oldest first. Schedules are few: the list scans them all and keeps the tenant's.</summary>
    public async Task<IReadOnlyList<ScheduleInfo>> ListAsync(string tenant)
    {
        var items = new List<ScheduleInfo>();
        await foreach (var entry in Db.HashScanAsync(keys.Schedules, pageSize: 250))
        {
            var definition = JsonSerializer.Deserialize<ScheduleDefinition>((string)entry.Value!, Json)!;
            if (definition.Owner != tenant) continue;
            items.Add(await InfoAsync(definition));
            if (items.Count == MaxListed) break;
        }
        return items.OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
    }

    public async Task<bool> DeleteAsync(string id, string tenant)
    {
        if (await GetOwnedAsync(id, tenant) is null) return false;
        var tx = Db.CreateTransaction();
        var removed = tx.HashDeleteAsync(keys.Schedules, id);
        _ = tx.SortedSetRemoveAsync(keys.ScheduleNext, id);
        _ = tx.HashDeleteAsync(keys.ScheduleTicks, id);
        _ = tx.HashDeleteAsync(keys.ScheduleSkips, id);
        await tx.ExecuteAsync();
        return await removed;
    }

    /// <summary>Pauses (no tick fires while paused) or resumes (from the next tick after now) the tenant's schedule; null when unknown.</summary>
    public async Task<ScheduleInfo?> SetPausedAsync(string id, bool paused, string tenant)
    {
        if (await GetOwnedAsync(id, tenant) is not { } definition) return null;
        definition = definition with { Paused = paused };
        var next = paused ? null : definition.NextTickAfter(await NowMsAsync());
        var tx = Db.CreateTransaction();
        tx.AddCondition(Condition.HashExists(keys.Schedules, id));
        _ = tx.HashSetAsync(keys.Schedules, id, JsonSerializer.Serialize(definition, Json));
        _ = tx.SortedSetRemoveAsync(keys.ScheduleNext, id);
        _ = tx.HashDeleteAsync(keys.ScheduleTicks, id);
        if (next is { } n) _ = tx.SortedSetAddAsync(keys.ScheduleNext, id, n);
        return await tx.ExecuteAsync() ? Info(definition, next, await LastSkipAsync(id)) : null;
    }

    /// <summary>A claimed tick has fired: the schedule moves on to <paramref name="nextMs"/> (or stops when null).</summary>
    public Task AdvanceAsync(string id, long? nextMs) =>
        Db.EvaluateAsync(LuaScripts.Advance, [keys.ScheduleNext, keys.ScheduleTicks], [id, nextMs is { } n ? n : ""]);

    /// <summary>Notes that the tick started no job and why; the schedule shows the latest as <c>lastSkipped</c>.</summary>
    public Task RecordSkipAsync(string id, long tick, string reason) =>
        Db.HashSetAsync(keys.ScheduleSkips, id, JsonSerializer.Serialize(new ScheduleSkip(DateTime.UnixEpoch.AddMilliseconds(tick), reason), Json));

    private async Task<ScheduleSkip?> LastSkipAsync(string id) =>
        (string?)await Db.HashGetAsync(keys.ScheduleSkips, id) is { } json ? JsonSerializer.Deserialize<ScheduleSkip>(json, Json) : null;

    private async Task<ScheduleInfo> InfoAsync(ScheduleDefinition definition)
    {
        var batch = Db.CreateBatch();
        var claimed = batch.HashGetAsync(keys.ScheduleTicks, definition.Id);
        var score = batch.SortedSetScoreAsync(keys.ScheduleNext, definition.Id);
        var skip = batch.HashGetAsync(keys.ScheduleSkips, definition.Id);
        batch.Execute();
        var tick = await claimed;
        var next = tick.HasValue ? (long)tick : (long?)await score;
        var lastSkip = (string?)await skip is { } json ? JsonSerializer.Deserialize<ScheduleSkip>(json, Json) : null;
        return Info(definition, next, lastSkip);
    }

    private async Task<long> NowMsAsync()
    {
        var time = (RedisValue[])(await Db.ExecuteAsync("TIME"))!;
        return (long)time[0] * 1000 + (long)time[1] / 1000;
    }

    private static ScheduleInfo Info(ScheduleDefinition d, long? next, ScheduleSkip? lastSkip) =>
        new(d.Id, d.Cron, d.TimeZone, next is { } n ? DateTime.UnixEpoch.AddMilliseconds(n) : null, d.Paused, d.Job, lastSkip);
}
