using System.Text.Json;
using Cronos;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>A recurring job as stored: the cron expression, its time zone and the submit body of each job it starts.</summary>
public sealed record ScheduleDefinition(string Id, string Cron, string TimeZone, bool Paused, DateTime CreatedAt, JsonElement Job)
{
    public CronExpression Expression => ParseCron(Cron)!;
    public TimeZoneInfo Zone => FindZone(TimeZone)!;

    /// <summary>The first tick strictly after <paramref name="afterMs"/> (Unix ms), or null when the expression never fires again.</summary>
    public long? NextTickAfter(long afterMs) =>
        Expression.GetNextOccurrence(DateTime.UnixEpoch.AddMilliseconds(afterMs), Zone) is { } next
            ? (long)(next - DateTime.UnixEpoch).TotalMilliseconds : null;

    /// <summary>5 fields (minute precision) or 6 with seconds first; null when it does not parse.</summary>
    public static CronExpression? ParseCron(string? cron)
    {
        if (string.IsNullOrWhiteSpace(cron)) return null;
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6)) return null;
        return CronExpression.TryParse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard, out var e) ? e : null;
    }

    /// <summary>An IANA (or Windows) time zone id; null when unknown.</summary>
    public static TimeZoneInfo? FindZone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return null;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }
}

/// <summary>What the API shows of a schedule; <c>nextRunAt</c> is null while it is paused.</summary>
public sealed record ScheduleInfo(string Id, string Cron, string TimeZone, DateTime? NextRunAt, bool Paused, JsonElement Job);

/// <summary>Schedules in Redis: definitions in one hash, next ticks in a ZSET beside it (same slot), so that
/// pause, resume and delete are one transaction each. Firing is the scheduler's (<see cref="DueJobs.ClaimAsync"/>).</summary>
public sealed class ScheduleStore(IConnectionMultiplexer redis, RedisKeys keys)
{
    private const int MaxListed = 1000;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private IDatabase Db => redis.GetDatabase();

    public async Task<ScheduleInfo> CreateAsync(string cron, string timeZone, JsonElement job)
    {
        var definition = new ScheduleDefinition(JobId.New(), cron.Trim(), timeZone, false, DateTime.UtcNow, job.Clone());
        var next = definition.NextTickAfter(await NowMsAsync());
        var tx = Db.CreateTransaction();
        _ = tx.HashSetAsync(keys.Schedules, definition.Id, JsonSerializer.Serialize(definition, Json));
        if (next is { } n) _ = tx.SortedSetAddAsync(keys.ScheduleNext, definition.Id, n);
        await tx.ExecuteAsync();
        return Info(definition, next);
    }

    public async Task<ScheduleDefinition?> GetDefinitionAsync(string id)
    {
        if (!JobId.IsWellFormed(id)) return null;
        var json = (string?)await Db.HashGetAsync(keys.Schedules, id);
        return json is null ? null : JsonSerializer.Deserialize<ScheduleDefinition>(json, Json);
    }

    public async Task<ScheduleInfo?> GetAsync(string id)
    {
        if (await GetDefinitionAsync(id) is not { } definition) return null;
        return Info(definition, await NextRunAsync(id));
    }

    public async Task<IReadOnlyList<ScheduleInfo>> ListAsync()
    {
        var items = new List<ScheduleInfo>();
        await foreach (var entry in Db.HashScanAsync(keys.Schedules, pageSize: 250))
        {
            var definition = JsonSerializer.Deserialize<ScheduleDefinition>((string)entry.Value!, Json)!;
            items.Add(Info(definition, await NextRunAsync(definition.Id)));
            if (items.Count == MaxListed) break;
        }
        return items.OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
    }

    public async Task<bool> DeleteAsync(string id)
    {
        if (!JobId.IsWellFormed(id)) return false;
        var tx = Db.CreateTransaction();
        var removed = tx.HashDeleteAsync(keys.Schedules, id);
        _ = tx.SortedSetRemoveAsync(keys.ScheduleNext, id);
        _ = tx.HashDeleteAsync(keys.ScheduleTicks, id);
        await tx.ExecuteAsync();
        return await removed;
    }

    /// <summary>Pauses (no tick fires while paused) or resumes (from the next tick after now) a schedule; null when unknown.</summary>
    public async Task<ScheduleInfo?> SetPausedAsync(string id, bool paused)
    {
        if (await GetDefinitionAsync(id) is not { } definition) return null;
        definition = definition with { Paused = paused };
        var next = paused ? null : definition.NextTickAfter(await NowMsAsync());
        var tx = Db.CreateTransaction();
        tx.AddCondition(Condition.HashExists(keys.Schedules, id));
        _ = tx.HashSetAsync(keys.Schedules, id, JsonSerializer.Serialize(definition, Json));
        _ = tx.SortedSetRemoveAsync(keys.ScheduleNext, id);
        _ = tx.HashDeleteAsync(keys.ScheduleTicks, id);
        if (next is { } n) _ = tx.SortedSetAddAsync(keys.ScheduleNext, id, n);
        return await tx.ExecuteAsync() ? Info(definition, next) : null;
    }

    /// <summary>A claimed tick has fired: the schedule moves on to <paramref name="nextMs"/> (or stops when null).</summary>
    public Task AdvanceAsync(string id, long? nextMs) =>
        Db.EvaluateAsync(LuaScripts.Advance, [keys.ScheduleNext, keys.ScheduleTicks], [id, nextMs is { } n ? n : ""]);

    private async Task<long?> NextRunAsync(string id)
    {
        var batch = Db.CreateBatch();
        var claimed = batch.HashGetAsync(keys.ScheduleTicks, id);
        var score = batch.SortedSetScoreAsync(keys.ScheduleNext, id);
        batch.Execute();
        var tick = await claimed;
        return tick.HasValue ? (long)tick : (long?)await score;
    }

    private async Task<long> NowMsAsync()
    {
        var time = (RedisValue[])(await Db.ExecuteAsync("TIME"))!;
        return (long)time[0] * 1000 + (long)time[1] / 1000;
    }

    private static ScheduleInfo Info(ScheduleDefinition d, long? next) =>
        new(d.Id, d.Cron, d.TimeZone, next is { } n ? DateTime.UnixEpoch.AddMilliseconds(n) : null, d.Paused, d.Job);
}
