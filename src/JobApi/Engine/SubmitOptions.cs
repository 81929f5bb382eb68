using System.Globalization;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>What a submit may add to a job besides its work: priority, when it may start, what it waits for,
/// its time limit, its callback and its retention; <see cref="ScheduleId"/> and <see cref="Tick"/> when a
/// schedule started it.</summary>
public sealed record SubmitOptions(
    int Priority = 0, long? DelayMs = null, long? RunAtMs = null, IReadOnlyList<string>? DependsOn = null,
    long? TimeoutMs = null, string? CallbackUrl = null, long? RetainMs = null, string? ScheduleId = null, long? Tick = null)
{
    public static readonly SubmitOptions None = new();

    /// <summary>The job starts <c>waiting</c> (submit.lua decides the same way from the same arguments).</summary>
    public bool Waits => DelayMs > 0 || RunAtMs is not null || DependsOn is { Count: > 0 };

    /// <summary>Nothing but the job and its queue entries is written: no due, timeout or webhook entry, no dependency.</summary>
    public bool Plain => !Waits && TimeoutMs is null && CallbackUrl is null;

    /// <summary>Part of the idempotency body hash; empty for a plain job, so plain hashes stay as they were.</summary>
    public string Canonical => this == None ? "" :
        string.Join('\n', Priority, DelayMs, RunAtMs, string.Join(',', DependsOn ?? []), TimeoutMs, CallbackUrl, RetainMs, ScheduleId, Tick);

    /// <summary>Extra job hash fields, as name/value pairs.</summary>
    public RedisValue[] HashFields(string? idempotencyRecord)
    {
        var f = new List<RedisValue>();
        void Add(string name, object? value)
        {
            if (value is null) return;
            f.Add(name);
            f.Add(Convert.ToString(value, CultureInfo.InvariantCulture));
        }
        if (Priority != 0) Add("priority", Priority);
        if (DependsOn is { Count: > 0 }) Add("deps", string.Join(',', DependsOn));
        Add("timeoutMs", TimeoutMs);
        Add("callbackUrl", CallbackUrl);
        Add("retainMs", RetainMs);
        Add("scheduleId", ScheduleId);
        Add("tick", Tick);
        Add("idem", idempotencyRecord);
        return [.. f];
    }
}
