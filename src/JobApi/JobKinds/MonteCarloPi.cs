using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;

namespace JobApi.JobKinds;

/// <summary>Input of <c>montecarlo-pi</c>: how many samples, and the seed.</summary>
public sealed record MonteCarloPiInput(long? Samples, long? Seed);

/// <summary>A shard's contiguous range [Start, End) of sample indexes of the stream <c>Seed</c>.</summary>
internal sealed record MonteCarloRange(long Seed, long Start, long End)
{
    /// <summary>Cuts samples 0..n-1 into <paramref name="shards"/> contiguous ranges of nearly equal size.</summary>
    public static IEnumerable<MonteCarloRange> Split(long seed, long n, int shards) => Enumerable.Range(0, shards)
        .Select(i => new MonteCarloRange(seed, (long)((Int128)n * i / shards), (long)((Int128)n * (i + 1) / shards)));

    /// <summary>The shard count for <paramref name="n"/> samples of which one shard should take about <paramref name="perShard"/>.</summary>
    public static int DefaultShards(long n, long perShard) => (int)Math.Clamp((n + perShard - 1) / perShard, 1, 1024);
}

internal sealed record MonteCarloShardResult(long Samples, long Inside);

public sealed class MonteCarloPiInputValidator : AbstractValidator<MonteCarloPiInput>
{
    public MonteCarloPiInputValidator()
    {
        RuleFor(x => x.Samples).NotNull().WithMessage("'samples' is required.")
            .InclusiveBetween(1, MonteCarloPi.MaxSamples).WithMessage($"'samples' must be between 1 and {MonteCarloPi.MaxSamples}.");
    }
}

/// <summary>Estimates π from points in the unit square: sample i is the 64-bit value <see cref="CounterRng.At"/>(seed, i),
/// whose high and low 32 bits are the coordinates X and Y in [0, 2^32); it is inside the quarter circle when
/// X² + Y² &lt; 2^64, decided exactly in integers. Shards count contiguous index ranges, so the estimate for a
/// seed and sample count is the same for any shard count.</summary>
public sealed class MonteCarloPi : JobKind<MonteCarloPiInput>
{
    public const long MaxSamples = 1_000_000_000_000;
    private const long SamplesPerDefaultShard = 100_000_000;
    private static readonly MonteCarloPiInputValidator InputValidator = new();

    public override string Name => "montecarlo-pi";
    public override string Description =>
        "Estimates pi as 4 * inside / samples with a counter-based generator (SplitMix64 of seed and sample index; X, Y = high and low " +
        "32 bits, inside when X^2 + Y^2 < 2^64): identical for any shard count. Result: { \"estimate\", \"samples\", \"inside\" }.";

    public override JsonNode InputSchema => JsonNode.Parse($$"""
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["samples"],
          "properties": {
            "samples": { "type": "integer", "minimum": 1, "maximum": {{MaxSamples}}, "description": "number of random points" },
            "seed": { "type": "integer", "default": 0, "description": "any int64; the same seed gives the same estimate" }
          }
        }
        """)!;

    public override JsonNode Example => JsonNode.Parse("""
        { "kind": "montecarlo-pi", "input": { "samples": 10000000, "seed": 42 }, "shards": 4 }
        """)!;

    protected override JsonTypeInfo<MonteCarloPiInput> InputType => KindJsonContext.Default.MonteCarloPiInput;
    protected override IValidator<MonteCarloPiInput> Validator => InputValidator;

    protected override int DefaultShards(MonteCarloPiInput input) => MonteCarloRange.DefaultShards(input.Samples!.Value, SamplesPerDefaultShard);

    protected override JobPlan Split(MonteCarloPiInput input, int shards) => JobPlan.Of([.. MonteCarloRange.Split(input.Seed ?? 0, input.Samples!.Value, shards)
        .Select(range => JsonSerializer.Serialize(range, KindJsonContext.Default.MonteCarloRange))]);

    public override ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
    {
        var range = JsonSerializer.Deserialize(work.Payload, KindJsonContext.Default.MonteCarloRange) ?? throw new InvalidOperationException("montecarlo-pi: empty shard payload");
        var inside = CountInside(range.Seed, range.Start, range.End, cancellationToken);
        return ValueTask.FromResult(JsonSerializer.Serialize(new MonteCarloShardResult(range.End - range.Start, inside), KindJsonContext.Default.MonteCarloShardResult));
    }

    internal static long CountInside(long seed, long start, long end, CancellationToken cancellationToken)
    {
        var seedBase = CounterRng.Base(seed);
        long inside = 0;
        for (var i = start; i < end; i++)
        {
            if ((i & 0xFFFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var r = CounterRng.At(seedBase, i);
            ulong x = r >> 32, y = r & 0xFFFFFFFF;
            // x², y² < 2^64 each; their sum is below 2^64 exactly when adding them does not carry.
            ulong x2 = x * x, y2 = y * y;
            if (x2 + y2 >= x2) inside++;
        }
        return inside;
    }

    public override string Merge(string mergeContext, IReadOnlyList<string> shardResults)
    {
        long samples = 0, inside = 0;
        foreach (var json in shardResults)
        {
            var part = JsonSerializer.Deserialize(json, KindJsonContext.Default.MonteCarloShardResult)!;
            samples += part.Samples;
            inside += part.Inside;
        }
        return new JsonObject { ["estimate"] = 4.0 * inside / samples, ["samples"] = samples, ["inside"] = inside }.ToJsonString();
    }
}
