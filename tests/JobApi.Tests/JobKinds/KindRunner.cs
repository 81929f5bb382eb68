using System.Buffers;
using System.Text.Json;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

/// <summary>Runs a kind end to end in-process, the way the engine does: Plan, every shard, Merge (or the
/// streaming merge, whose items it puts back into the result as an <c>items</c> array).</summary>
internal static class KindRunner
{
    public static async Task<JobPlan> PlanAsync(IJobKind kind, string inputJson, int? shards = null, int maxShards = 100_000)
    {
        using var input = JsonDocument.Parse(inputJson);
        return await kind.PlanAsync(input.RootElement, shards, maxShards, "default");
    }

    public static async Task<JsonElement> RunAsync(IJobKind kind, string inputJson, int? shards = null)
    {
        var plan = await PlanAsync(kind, inputJson, shards);
        Assert.True(plan.IsValid, "plan errors: " + string.Join("; ", plan.Errors?.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}") ?? []));
        if (shards is not null) Assert.Equal(shards.Value, plan.ShardPayloads.Count);
        var results = new List<string>(plan.ShardPayloads.Count);
        for (int i = 0; i < plan.ShardPayloads.Count; i++)
        {
            results.Add(await kind.ProcessShardAsync(new ShardWork("test-job", i, 1, plan.ShardPayloads[i]), CancellationToken.None));
        }
        return await MergeAsync(kind, plan.MergeContext, results);
    }

    public static async Task<JsonElement> MergeAsync(IJobKind kind, string context, IReadOnlyList<string> results)
    {
        if (kind is not IStreamingMerge streaming)
        {
            using var merged = JsonDocument.Parse(kind.Merge(context, results));
            return merged.RootElement.Clone();
        }
        var items = new ListItems();
        var head = await streaming.MergeAsync(context, new ListResults(results), items, CancellationToken.None);
        using var headDoc = JsonDocument.Parse(head);
        if (!streaming.ResultHasItems) return headDoc.RootElement.Clone();
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in headDoc.RootElement.EnumerateObject()) property.WriteTo(writer);
            writer.WriteStartArray("items");
            foreach (var item in items.All) writer.WriteRawValue(item);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        using var whole = JsonDocument.Parse(buffer.WrittenMemory);
        return whole.RootElement.Clone();
    }

    private sealed class ListResults(IReadOnlyList<string> results) : IShardResults
    {
        public int Count => results.Count;
        public ValueTask<string> GetAsync(int index, CancellationToken cancellationToken) => ValueTask.FromResult(results[index]);
    }

    private sealed class ListItems : IResultItems
    {
        public List<string> All { get; } = [];
        public long Count => All.Count;

        public ValueTask AddAsync(string itemJson, CancellationToken cancellationToken)
        {
            All.Add(itemJson);
            return ValueTask.CompletedTask;
        }
    }
}
