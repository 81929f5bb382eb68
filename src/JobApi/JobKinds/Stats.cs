using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;
using JobApi.Inputs;

namespace JobApi.JobKinds;

/// <summary>Input of <c>stats</c>: exactly one of <c>values</c>, <c>inputRef</c> (one number a line) and <c>generate</c>.</summary>
public sealed record StatsInput(JsonElement? Values, string? InputRef, GenerateSpec? Generate);

internal sealed record StatsContext(bool Partitioned);

public sealed class StatsInputValidator : AbstractValidator<StatsInput>
{
    public StatsInputValidator()
    {
        RuleFor(x => x).Must(x => (x.Values is null ? 0 : 1) + (x.InputRef is null ? 0 : 1) + (x.Generate is null ? 0 : 1) == 1)
            .OverridePropertyName("").WithMessage("Give exactly one of 'values', 'inputRef' or 'generate'.");
        RuleFor(x => x.Values).Must(RunSources.AreNumbers).When(x => x.Values is not null)
            .WithMessage("'values' must be an array of finite numbers.");
        RuleFor(x => x.Values).Must(v => v!.Value.GetArrayLength() > 0).When(x => RunSources.AreNumbers(x.Values))
            .WithMessage("'values' must not be empty.");
        RuleFor(x => x.Generate!.Count).Must(c => c is >= 1 and <= Sort.MaxGenerate).When(x => x.Generate is not null)
            .OverridePropertyName("generate.count").WithMessage($"'generate.count' must be between 1 and {Sort.MaxGenerate}.");
    }
}

/// <summary>Count, sum, min, max, mean, population variance, standard deviation and exact nearest-rank p50, p90,
/// p99. Shards sort their part and compute (count, mean, M2); the merge combines moments with Chan et al.'s
/// parallel formula and finds each quantile's rank in the shards' sorted runs.</summary>
public sealed class Stats(IInputStore inputs) : StreamingJobKind<StatsInput>
{
    private const long BytesPerDefaultShard = 16L << 20;
    private static readonly StatsInputValidator InputValidator = new();
    private static readonly int[] Percentiles = [50, 90, 99];

    public override string Name => "stats";
    public override string Description =>
        "Descriptive statistics of numbers: inline 'values', an upload ('inputRef', one number a line) or 'generate': { count, seed } " +
        "(int64 values). Result: { count, sum, min, max, mean, variance (population), stddev, p50, p90, p99 }; quantiles are exact " +
        "nearest-rank (the value at rank ceil(p/100 * count)); sum is exact for int64 values.";

    public override JsonNode InputSchema => JsonNode.Parse($$"""
        {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "values": { "type": "array", "items": { "type": "number" }, "minItems": 1, "description": "the numbers" },
            "inputRef": { "type": "string", "description": "id of an upload (POST /v1/inputs), one number a line" },
            "generate": { "type": "object", "additionalProperties": false, "required": ["count"], "description": "generated int64 values",
              "properties": { "count": { "type": "integer", "minimum": 1, "maximum": {{Sort.MaxGenerate}} }, "seed": { "type": "integer", "default": 0 } } }
          },
          "oneOf": [ { "required": ["values"] }, { "required": ["inputRef"] }, { "required": ["generate"] } ]
        }
        """)!;

    public override JsonNode Example => JsonNode.Parse("""
        { "kind": "stats", "input": { "values": [2, 4, 4, 4, 5, 5, 7, 9] }, "shards": 2 }
        """)!;

    public override bool ResultHasItems => false;
    protected override JsonTypeInfo<StatsInput> InputType => KindJsonContext.Default.StatsInput;
    protected override IValidator<StatsInput> Validator => InputValidator;

    protected override int DefaultShards(StatsInput input) =>
        (int)Math.Clamp((input.Generate?.Count ?? input.Values!.Value.GetArrayLength()) / 1_000_000 + 1, 1, 256);

    protected override async ValueTask<JobPlan> SplitAsync(StatsInput input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken)
    {
        if (input.InputRef is null) return await base.SplitAsync(input, requestedShards, maxShards, tenant, cancellationToken);
        var (found, error) = await InputRefs.FindAsync(inputs, input.InputRef, tenant, cancellationToken);
        if (error is not null) return error;
        var shards = ShardCount(requestedShards ?? InputRefs.DefaultShards(found!, BytesPerDefaultShard, 256), maxShards);
        var payloads = Enumerable.Range(0, shards).Select(i =>
        {
            var (start, end) = InputRange.Nominal(found!.Bytes, shards, i);
            return RunSources.Serialize(new SortPayload("inputNumbers", InputRef: found.Id, Start: start, End: end));
        });
        return JobPlan.Of([.. payloads], Context(false));
    }

    protected override JobPlan Split(StatsInput input, int shards)
    {
        if (input.Generate is { } g)
            return JobPlan.Of([.. Enumerable.Range(0, shards).Select(i => RunSources.Serialize(new SortPayload("generate", Count: g.Count!.Value, Seed: g.Seed ?? 0, Shard: i, Shards: shards)))], Context(true));
        var length = input.Values!.Value.GetArrayLength();
        return JobPlan.Of([.. Enumerable.Range(0, shards).Select(i => RunSources.Serialize(new SortPayload("numbers",
            Numbers: JsonDocument.Parse(RunSources.Slice(input.Values!.Value, (int)((long)length * i / shards), (int)((long)length * (i + 1) / shards))).RootElement)))], Context(false));
    }

    private static string Context(bool partitioned) => JsonSerializer.Serialize(new StatsContext(partitioned), KindJsonContext.Default.StatsContext);

    public override async ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
    {
        var p = JsonSerializer.Deserialize(work.Payload, KindJsonContext.Default.SortPayload)
            ?? throw new InvalidOperationException("stats: empty shard payload");
        var run = p.Source switch
        {
            "generate" => RunSources.GeneratedSlice(p.Count, p.Seed, p.Shard, p.Shards, cancellationToken),
            "numbers" => RunSources.ParseNumbers(p.Numbers!.Value),
            _ => RunSources.ParseNumberLines(await RunSources.ReadRangeAsync(inputs, p, cancellationToken)),
        };
        var moments = Moments.Of(run);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            moments.WriteTo(writer);
            run.WriteTo(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }


    public override async ValueTask<string> MergeAsync(string mergeContext, IShardResults shardResults, IResultItems items, CancellationToken cancellationToken)
    {
        var context = JsonSerializer.Deserialize(mergeContext, KindJsonContext.Default.StatsContext)
            ?? throw new InvalidOperationException("stats: empty merge context");
        var total = Moments.Empty;
        var counts = new long[shardResults.Count];
        var runs = context.Partitioned ? null : new List<SortedRun>(shardResults.Count);
        for (var k = 0; k < shardResults.Count; k++)
        {
            var json = await shardResults.GetAsync(k, cancellationToken);
            var part = Moments.Read(json);
            counts[k] = part.Count;
            total = Moments.Combine(total, part);
            runs?.Add(SortedRun.Read(json)); // partitioned runs are fetched again only where a quantile falls
        }
        var ranks = Percentiles.Select(p => Math.Max(1, (p * total.Count + 99) / 100)).ToArray();
        var quantiles = new string?[ranks.Length];
        if (total.Count > 0 && runs is null)
        {
            for (var q = 0; q < ranks.Length; q++)
            {
                long before = 0;
                var k = 0;
                while (before + counts[k] < ranks[q]) before += counts[k++];
                quantiles[q] = SortedRun.Read(await shardResults.GetAsync(k, cancellationToken)).ItemJson((int)(ranks[q] - before - 1));
            }
        }
        else if (total.Count > 0)
        {
            long rank = 0;
            var q = 0;
            foreach (var (run, index) in SortedRun.Merge(runs!, descending: false))
            {
                rank++;
                while (q < ranks.Length && ranks[q] == rank) quantiles[q++] = run.ItemJson(index);
                if (q == ranks.Length) break;
            }
        }
        return total.ToResultJson(quantiles);
    }
}
