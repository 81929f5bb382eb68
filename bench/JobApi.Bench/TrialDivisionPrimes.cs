using System.Text.Json;
using System.Text.Json.Nodes;
using JobApi.JobKinds;

namespace JobApi.Bench;

/// <summary>
/// The S2 fan-out workload of the peers' harness, registered from this host through the public kind
/// extension point: every shard counts the primes below <c>limit</c> by trial division (the same code as
/// the BullMQ and Hangfire benchmarks), the merge sums the counts.
/// </summary>
public sealed class TrialDivisionPrimes : IJobKind
{
    public const string KindName = "bench-trial-primes";

    public string Name => KindName;
    public string Description => "Benchmark: each shard counts the primes below `limit` by trial division; the result is the sum over shards.";
    public JsonNode InputSchema => JsonNode.Parse("""{"type":"object","properties":{"limit":{"type":"integer","minimum":2,"maximum":1000000}},"required":["limit"]}""")!;
    public JsonNode Example => JsonNode.Parse("""{"kind":"bench-trial-primes","input":{"limit":20000},"shards":1000}""")!;

    public ValueTask<JobPlan> PlanAsync(JsonElement input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken = default)
    {
        if (!input.TryGetProperty("limit", out var l) || !l.TryGetInt32(out var limit) || limit is < 2 or > 1_000_000)
            return ValueTask.FromResult(JobPlan.Invalid("input.limit", "limit must be an integer between 2 and 1,000,000."));
        var shards = Math.Clamp(requestedShards ?? 1, 1, maxShards);
        var payload = limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ValueTask.FromResult(JobPlan.Of(Enumerable.Repeat(payload, shards).ToArray()));
    }

    public ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken) =>
        ValueTask.FromResult(CountPrimes(int.Parse(work.Payload, System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture));

    public string Merge(string mergeContext, IReadOnlyList<string> shardResults) =>
        $"{{\"sum\":{shardResults.Sum(r => long.Parse(r, System.Globalization.CultureInfo.InvariantCulture))}}}";

    /// <summary>Identical to the peers' CountPrimes.</summary>
    public static int CountPrimes(int limit)
    {
        var c = 0;
        for (var n = 2; n < limit; n++)
        {
            var p = true;
            for (var d = 2; d * d <= n; d++)
            {
                if (n % d == 0) { p = false; break; }
            }
            if (p) c++;
        }
        return c;
    }
}
