using System.Text.Json;
using Cronos;
using JobApi.Options;

namespace JobApi.Engine;

/// <summary>A recurring job as stored: the cron expression, its time zone, the submit body of each job it starts, and
/// the tenant it belongs to (its jobs are that tenant's; schedules from before tenants were stored are <c>default</c>'s).</summary>
public sealed record ScheduleDefinition(string Id, string Cron, string TimeZone, bool Paused, DateTime CreatedAt, JsonElement Job, string? Tenant = null)
{
    public string Owner => Tenant ?? Tenants.Default;

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

/// <summary>What the API shows of a schedule; <c>nextRunAt</c> is null while it is paused; <c>lastSkipped</c> is the
/// latest tick that started no job (over the tenant's quota, or its job no longer valid), null when none was.</summary>
public sealed record ScheduleInfo(string Id, string Cron, string TimeZone, DateTime? NextRunAt, bool Paused, JsonElement Job, ScheduleSkip? LastSkipped = null);

/// <summary>A tick that started no job: when it was due and why it was skipped.</summary>
public sealed record ScheduleSkip(DateTime Tick, string Reason);
