using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;
using JobApi.Inputs;

namespace JobApi.JobKinds;

/// <summary>Input of <c>sort</c>: exactly one of <c>numbers</c>, <c>lines</c>, <c>inputRef</c> (with <c>format</c>)
/// and <c>generate</c>; optionally <c>order</c>.</summary>
public sealed record SortInput(JsonElement? Numbers, string[]? Lines, string? InputRef, string? Format, GenerateSpec? Generate, string? Order);

internal sealed record SortPayload(string Source, JsonElement? Numbers = null, string[]? Lines = null, string? InputRef = null,
    long Start = 0, long End = 0, long Count = 0, long Seed = 0, int Shard = 0, int Shards = 1);

internal sealed record SortContext(bool Descending, bool Partitioned);

public sealed class SortInputValidator : AbstractValidator<SortInput>
{
    public SortInputValidator()
    {
        RuleFor(x => x).Must(x => Sources(x) == 1).OverridePropertyName("")
            .WithMessage("Give exactly one of 'numbers', 'lines', 'inputRef' or 'generate'.");
        RuleFor(x => x.Numbers).Must(RunSources.AreNumbers).When(x => x.Numbers is not null)
            .WithMessage("'numbers' must be an array of finite numbers.");
        RuleForEach(x => x.Lines).NotNull().WithMessage("Each of 'lines' must be a string.");
        RuleFor(x => x.Format).Must(f => f is "lines" or "numbers").When(x => x.InputRef is not null)
            .WithMessage("'format' must be 'lines' or 'numbers' with 'inputRef'.");
        RuleFor(x => x.Format).Null().When(x => x.InputRef is null).WithMessage("'format' goes only with 'inputRef'.");
        RuleFor(x => x.Generate!.Count).Must(c => c is >= 0 and <= Sort.MaxGenerate).When(x => x.Generate is not null)
            .OverridePropertyName("generate.count").WithMessage($"'generate.count' must be between 0 and {Sort.MaxGenerate}.");
        RuleFor(x => x.Order).Must(o => o is null or "asc" or "desc").WithMessage("'order' must be 'asc' or 'desc'.");
    }

    internal static int Sources(SortInput x) =>
        (x.Numbers is null ? 0 : 1) + (x.Lines is null ? 0 : 1) + (x.InputRef is null ? 0 : 1) + (x.Generate is null ? 0 : 1);
}

/// <summary>Sorts numbers or lines. Inline data and uploads are cut into contiguous parts that shards sort and the
/// merge combines k-way; generated values are range-partitioned (sample-free: the generator is uniform over
/// int64), so shard runs are already in global order and the merge only concatenates them.</summary>
public sealed class Sort(IInputStore inputs) : StreamingJobKind<SortInput>
{
    public const long MaxGenerate = 100_000_000;
    private const long BytesPerDefaultShard = 16L << 20;
    private static readonly SortInputValidator InputValidator = new();

    public override string Name => "sort";
    public override string Description =>
        "Sorts numbers (int64, or doubles when any value is not an integer) or text lines (by UTF-8 bytes, as LC_ALL=C sort; stable), " +
        "ascending or descending. Inline 'numbers' or 'lines', an upload ('inputRef', one item a line, 'format': lines | numbers) or " +
        "'generate': { count, seed } (int64 values, SplitMix64 of seed and index). Result: { \"count\", \"items\" }, paged.";

    public override JsonNode InputSchema => JsonNode.Parse($$"""
        {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "numbers": { "type": "array", "items": { "type": "number" }, "description": "numbers to sort" },
            "lines": { "type": "array", "items": { "type": "string" }, "description": "text lines to sort by UTF-8 bytes" },
            "inputRef": { "type": "string", "description": "id of an upload (POST /v1/inputs), one item a line" },
            "format": { "type": "string", "enum": ["lines", "numbers"], "description": "what the upload's lines hold; only with inputRef" },
            "generate": { "type": "object", "additionalProperties": false, "required": ["count"], "description": "generated int64 values",
              "properties": { "count": { "type": "integer", "minimum": 0, "maximum": {{MaxGenerate}} }, "seed": { "type": "integer", "default": 0 } } },
            "order": { "type": "string", "enum": ["asc", "desc"], "default": "asc" }
          },
          "oneOf": [ { "required": ["numbers"] }, { "required": ["lines"] }, { "required": ["inputRef", "format"] }, { "required": ["generate"] } ]
        }
        """)!;

    public override JsonNode Example => JsonNode.Parse("""
        { "kind": "sort", "input": { "numbers": [5, -3, 12, 0, 7.5, 1], "order": "desc" }, "shards": 2 }
        """)!;

    public override bool ResultHasItems => true;
    protected override JsonTypeInfo<SortInput> InputType => KindJsonContext.Default.SortInput;
    protected override IValidator<SortInput> Validator => InputValidator;

    protected override int DefaultShards(SortInput input) =>
        (int)Math.Clamp((input.Generate?.Count ?? input.Lines?.Length ?? input.Numbers!.Value.GetArrayLength()) / 1_000_000 + 1, 1, 256);

    protected override async ValueTask<JobPlan> SplitAsync(SortInput input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken)
    {
        if (input.InputRef is null) return await base.SplitAsync(input, requestedShards, maxShards, tenant, cancellationToken);
        var (found, error) = await InputRefs.FindAsync(inputs, input.InputRef, tenant, cancellationToken);
        if (error is not null) return error;
        var shards = ShardCount(requestedShards ?? InputRefs.DefaultShards(found!, BytesPerDefaultShard, 256), maxShards);
        var source = input.Format == "lines" ? "inputLines" : "inputNumbers";
        var payloads = Enumerable.Range(0, shards).Select(i =>
        {
            var (start, end) = InputRange.Nominal(found!.Bytes, shards, i);
            return RunSources.Serialize(new SortPayload(source, InputRef: found.Id, Start: start, End: end));
        });
        return JobPlan.Of([.. payloads], Context(input, partitioned: false));
    }

    protected override JobPlan Split(SortInput input, int shards)
    {
        IEnumerable<SortPayload> payloads;
        if (input.Generate is { } g)
            payloads = Enumerable.Range(0, shards).Select(i => new SortPayload("generate", Count: g.Count!.Value, Seed: g.Seed ?? 0, Shard: i, Shards: shards));
        else
        {
            var length = input.Lines?.Length ?? input.Numbers!.Value.GetArrayLength();
            payloads = Enumerable.Range(0, shards).Select(i =>
            {
                int start = (int)((long)length * i / shards), end = (int)((long)length * (i + 1) / shards);
                return input.Lines is { } lines
                    ? new SortPayload("lines", Lines: lines[start..end])
                    : new SortPayload("numbers", Numbers: JsonDocument.Parse(RunSources.Slice(input.Numbers!.Value, start, end)).RootElement);
            });
        }
        return JobPlan.Of([.. payloads.Select(RunSources.Serialize)], Context(input, partitioned: input.Generate is not null));
    }

    private static string Context(SortInput input, bool partitioned) =>
        JsonSerializer.Serialize(new SortContext(input.Order == "desc", partitioned), KindJsonContext.Default.SortContext);


    public override async ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
    {
        var p = JsonSerializer.Deserialize(work.Payload, KindJsonContext.Default.SortPayload)
            ?? throw new InvalidOperationException("sort: empty shard payload");
        var run = p.Source switch
        {
            "generate" => RunSources.GeneratedSlice(p.Count, p.Seed, p.Shard, p.Shards, cancellationToken),
            "lines" => SortedRun.OfLines(p.Lines!),
            "numbers" => RunSources.ParseNumbers(p.Numbers!.Value),
            "inputLines" => SortedRun.OfLines(RunSources.Lines(await RunSources.ReadRangeAsync(inputs, p, cancellationToken))),
            _ => RunSources.ParseNumberLines(await RunSources.ReadRangeAsync(inputs, p, cancellationToken)),
        };
        return ShardResult(run);
    }


    internal static string ShardResult(SortedRun run)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            run.WriteTo(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    public override async ValueTask<string> MergeAsync(string mergeContext, IShardResults shardResults, IResultItems items, CancellationToken cancellationToken)
    {
        var context = JsonSerializer.Deserialize(mergeContext, KindJsonContext.Default.SortContext)
            ?? throw new InvalidOperationException("sort: empty merge context");
        if (context.Partitioned)
        {
            // Runs hold disjoint, ordered slices of the values: one run in memory at a time.
            for (var k = 0; k < shardResults.Count; k++)
            {
                var run = SortedRun.Read(await shardResults.GetAsync(context.Descending ? shardResults.Count - 1 - k : k, cancellationToken));
                for (var i = 0; i < run.Length; i++) await items.AddAsync(run.ItemJson(context.Descending ? run.Length - 1 - i : i), cancellationToken);
            }
        }
        else
        {
            var runs = new List<SortedRun>(shardResults.Count);
            for (var k = 0; k < shardResults.Count; k++) runs.Add(SortedRun.Read(await shardResults.GetAsync(k, cancellationToken)));
            foreach (var (run, index) in SortedRun.Merge(runs, context.Descending)) await items.AddAsync(run.ItemJson(index), cancellationToken);
        }
        return $$"""{"count":{{items.Count}}}""";
    }
}
