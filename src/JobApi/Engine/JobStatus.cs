using System.Globalization;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>A job as clients see it (the contract's "Job status").</summary>
public sealed record JobStatus(
    string Id, string Kind, string State, ShardCounts Shards, double Progress, long Attempts,
    DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt, string? Error,
    int Priority = 0, DateTime? RunAt = null, IReadOnlyList<string>? DependsOn = null, string? ScheduleId = null,
    WebhookStatus? Webhook = null)
{
    /// <summary>The job hash fields status.lua reads, in order; it appends succeeded, running and failed counts.</summary>
    internal static readonly RedisValue[] Fields =
    [
        "kind", "state", "total", "attempts", "createdAt", "startedAt", "finishedAt", "error",
        "priority", "runAt", "deps", "scheduleId", "callbackUrl", "webhookState", "webhookAttempts", "webhookLastStatus", "webhookDeliveredAt",
        "commits", "finals",
    ];

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsFinal => JobStates.IsFinal(State);

    /// <summary>Finished shards per second since the job started (null before it started).</summary>
    public double? Throughput { get; init; }

    /// <summary>Seconds until the job ends at the current throughput (null when unknown or finished).</summary>
    public double? EtaSeconds { get; init; }

    /// <summary>Increases with every change a watcher can see: the events stream's <c>id</c>. It is the sum of
    /// counters that only grow (shards leased, shards committed, final states reached), plus one once a job
    /// that waited (for a runAt or dependencies) has left <c>waiting</c>, so no script pays for it.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long Sequence { get; init; }

    internal static JobStatus FromValues(string id, RedisValue[] v)
    {
        var n = Fields.Length;
        var total = (int)v[2];
        var (succeeded, running, failed) = ((int)v[n], (int)v[n + 1], (int)v[n + 2]);
        var queued = Math.Max(0, total - running - succeeded - failed);
        var (started, finished) = (Time(v[5]), Time(v[6]));
        var state = (string)v[1]!;
        var rate = Rate(succeeded + failed, started, finished);
        var webhook = v[12].IsNull ? null : new WebhookStatus(v[12]!, v[13].IsNull ? "pending" : (string)v[13]!,
            v[14].IsNull ? 0 : (int)v[14], v[15].IsNullOrEmpty ? null : (int)v[15], Time(v[16]));
        return new JobStatus(id, v[0]!, state, new ShardCounts(total, queued, running, succeeded, failed),
            total == 0 ? 0 : Math.Round((double)(succeeded + failed) / total, 6), (long)v[3],
            Time(v[4]) ?? DateTime.UnixEpoch, started, finished, v[7].IsNull ? null : (string?)v[7],
            v[8].IsNull ? 0 : (int)v[8], Time(v[9]), v[10].IsNull ? null : ((string)v[10]!).Split(','),
            v[11].IsNull ? null : (string?)v[11], webhook)
        {
            Sequence = (long)v[3] + Number(v[17]) + Number(v[18]) + (LeftWaiting(state, v[9], v[10]) ? 1 : 0),
            Throughput = rate,
            EtaSeconds = rate > 0 && !JobStates.IsFinal(state) ? Math.Round((total - succeeded - failed) / rate.Value, 1) : null,
        };
    }

    private static long Number(RedisValue v) => v.IsNull ? 0 : (long)v;

    /// <summary>A job with a runAt or dependencies starts waiting and never goes back to it.</summary>
    private static bool LeftWaiting(string state, RedisValue runAt, RedisValue deps) =>
        state != JobStates.Waiting && (!runAt.IsNull || !deps.IsNull);

    private static double? Rate(int finishedShards, DateTime? started, DateTime? finished)
    {
        if (started is null) return null;
        var seconds = ((finished ?? DateTime.UtcNow) - started.Value).TotalSeconds;
        return Math.Round(finishedShards / Math.Max(seconds, 0.001), 3);
    }

    /// <summary>Redis-clock milliseconds to a UTC time (serialized with a trailing Z).</summary>
    internal static DateTime? Time(RedisValue ms) =>
        ms.IsNullOrEmpty ? null : DateTime.UnixEpoch.AddMilliseconds((long)double.Parse((string)ms!, NumberStyles.Float, CultureInfo.InvariantCulture));
}

public sealed record ShardCounts(int Total, int Queued, int Running, int Succeeded, int Failed);

/// <summary>Delivery of the job's <c>callbackUrl</c>: <c>pending</c> until the job ends, then <c>delivered</c>,
/// <c>retrying</c> (the last attempt failed, another follows with backoff) or <c>failed</c> (attempts exhausted).</summary>
public sealed record WebhookStatus(string Url, string State, int Attempts, int? LastStatus, DateTime? DeliveredAt);

/// <summary>One shard as the shards endpoint shows it.</summary>
public sealed record ShardStatus(int Index, string State, int Attempts, string? Worker, DateTime? StartedAt, DateTime? FinishedAt, string? Error);

public static class JobStates
{
    public const string Waiting = "waiting", Queued = "queued", Running = "running",
        Succeeded = "succeeded", Failed = "failed", Canceled = "canceled";

    public static readonly string[] All = [Waiting, Queued, Running, Succeeded, Failed, Canceled];

    public static bool IsFinal(string state) => state is Succeeded or Failed or Canceled;
}
