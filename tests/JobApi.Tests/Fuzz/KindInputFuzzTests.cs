using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using JobApi.JobKinds;
using Microsoft.Extensions.DependencyInjection;

namespace JobApi.Tests.Fuzz;

/// <summary>Every registered kind (read from the registry, so kinds added later are fuzzed too) takes any input:
/// planning answers with field errors or a plan, never an exception; a valid plan of bounded work computes
/// every shard and merges without an exception.</summary>
public sealed class KindInputFuzzTests
{
    private static readonly JobKindRegistry Registry = new ServiceCollection().AddSingleton<JobApi.Inputs.IInputStore>(new JobKinds.MemoryInputStore()).AddBuiltInJobKinds().BuildServiceProvider().GetRequiredService<JobKindRegistry>();

    public static TheoryData<string> Kinds() => new(Registry.All.Select(k => k.Name));

    private static string[] FieldNames(IJobKind kind) =>
        kind.InputSchema["properties"] is JsonObject props ? [.. props.Select(p => p.Key)] : [];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Planning_any_input_gives_errors_or_a_plan_never_an_exception(string name)
    {
        Assert.True(Registry.TryGet(name, out var kind));
        HostileJson.Object(FieldNames(kind), 3).Select(Gen.Int[-2, 80].Nullable()).Sample((input, shards) =>
        {
            using var doc = JsonDocument.Parse(input);
            var plan = kind.PlanAsync(doc.RootElement, shards is > 0 ? shards : null, 64, "default").AsTask().GetAwaiter().GetResult();
            if (plan.IsValid)
            {
                Assert.InRange(plan.ShardPayloads.Count, 1, 64);
                RunIfSmall(kind, doc.RootElement, plan);
            }
            else
            {
                Assert.NotEmpty(plan.Errors!);
                Assert.All(plan.Errors!, e => Assert.StartsWith("input", e.Key));
            }
        }, iter: HostileJson.Iterations(2000), threads: 1);
    }

    /// <summary>Computes the shards of plans whose work is small (no sleeping noop, narrow prime ranges).</summary>
    private static void RunIfSmall(IJobKind kind, JsonElement input, JobPlan plan)
    {
        long Get(string field) => input.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var l) ? l : 0;
        var small = kind.Name switch
        {
            "noop" => Get("sleepMs") == 0,
            "primes" => Get("to") - Get("from") <= 2_000_000,
            "wordcount" => true,
            _ => false,
        };
        if (!small) return;
        var results = plan.ShardPayloads.Select((p, i) =>
            kind.ProcessShardAsync(new ShardWork("fuzz", i, 100, p), CancellationToken.None).AsTask().GetAwaiter().GetResult()).ToList();
        var merged = JobKinds.KindRunner.MergeAsync(kind, plan.MergeContext, results).GetAwaiter().GetResult();
        Assert.Equal(JsonValueKind.Object, merged.ValueKind);
    }
}
