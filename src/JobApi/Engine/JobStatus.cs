using System.Globalization;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>A job as clients see it (the contract's "Job status").</summary>
public sealed record JobStatus(
    string Id, string Kind, string State, ShardCounts Shards, double Progress, long Attempts,
    DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt, string? Error)
{
    /// <summary>The job hash fields <see cref="FromHash"/> reads, in order.</summary>
    internal static readonly RedisValue[] Fields =
        ["kind", "state", "total", "running", "succeeded", "failed", "attempts", "createdAt", "startedAt", "finishedAt", "error"];

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsFinal => JobStates.IsFinal(State);

    internal static JobStatus? FromHash(string id, RedisValue[] v)
    {
        if (v[1].IsNull) return null;
        var total = (int)v[2];
        var running = (int)v[3];
        var succeeded = (int)v[4];
        var failed = (int)v[5];
        var queued = Math.Max(0, total - running - succeeded - failed);
        return new JobStatus(id, v[0]!, v[1]!, new ShardCounts(total, queued, running, succeeded, failed),
            total == 0 ? 0 : Math.Round((double)(succeeded + failed) / total, 6), (long)v[6],
            Time(v[7]) ?? DateTime.UnixEpoch, Time(v[8]), Time(v[9]), v[10].IsNull ? null : (string?)v[10]);
    }

    /// <summary>Redis-clock milliseconds to a UTC time (serialized with a trailing Z).</summary>
    internal static DateTime? Time(RedisValue ms) =>
        ms.IsNull ? null : DateTime.UnixEpoch.AddMilliseconds((long)double.Parse((string)ms!, NumberStyles.Float, CultureInfo.InvariantCulture));
}

public sealed record ShardCounts(int Total, int Queued, int Running, int Succeeded, int Failed);

/// <summary>One shard as the shards endpoint shows it.</summary>
public sealed record ShardStatus(int Index, string State, int Attempts, string? Worker, DateTime? StartedAt, DateTime? FinishedAt, string? Error);

public static class JobStates
{
    public const string Waiting = "waiting", Queued = "queued", Running = "running",
        Succeeded = "succeeded", Failed = "failed", Canceled = "canceled";

    public static readonly string[] All = [Waiting, Queued, Running, Succeeded, Failed, Canceled];

    public static bool IsFinal(string state) => state is Succeeded or Failed or Canceled;
}
