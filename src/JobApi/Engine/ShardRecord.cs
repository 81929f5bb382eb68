using System.Text.Json;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Reads the per-shard record the scripts keep in the shards hash (cjson: s, a, f, w, st, ft, e).</summary>
internal static class ShardRecord
{
    public static ShardStatus Parse(int index, RedisValue raw)
    {
        if (raw.IsNull) return new ShardStatus(index, JobStates.Queued, 0, null, null, null, null);
        using var doc = JsonDocument.Parse((string)raw!);
        var r = doc.RootElement;
        return new ShardStatus(index,
            Str(r, "s") ?? JobStates.Queued,
            r.TryGetProperty("a", out var a) ? (int)a.GetDouble() : 0,
            Str(r, "w"), Time(r, "st"), Time(r, "ft"), Str(r, "e"));
    }

    private static string? Str(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static DateTime? Time(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? DateTime.UnixEpoch.AddMilliseconds((long)v.GetDouble()) : null;
}
