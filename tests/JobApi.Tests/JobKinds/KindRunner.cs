using System.Text.Json;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

/// <summary>Runs a kind end to end in-process, the way the engine does: Plan, every shard, Merge.</summary>
internal static class KindRunner
{
    public static JobPlan Plan(IJobKind kind, string inputJson, int? shards = null, int maxShards = 100_000)
    {
        using var input = JsonDocument.Parse(inputJson);
        return kind.Plan(input.RootElement, shards, maxShards);
    }

    public static async Task<JsonElement> RunAsync(IJobKind kind, string inputJson, int? shards = null)
    {
        var plan = Plan(kind, inputJson, shards);
        Assert.True(plan.IsValid, "plan errors: " + string.Join("; ", plan.Errors?.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}") ?? []));
        if (shards is not null) Assert.Equal(shards.Value, plan.ShardPayloads.Count);
        var results = new List<string>(plan.ShardPayloads.Count);
        for (int i = 0; i < plan.ShardPayloads.Count; i++)
        {
            results.Add(await kind.ProcessShardAsync(new ShardWork("test-job", i, 1, plan.ShardPayloads[i]), CancellationToken.None));
        }
        using var merged = JsonDocument.Parse(kind.Merge(plan.MergeContext, results));
        return merged.RootElement.Clone();
    }
}
