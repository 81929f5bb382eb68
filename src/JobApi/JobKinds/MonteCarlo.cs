using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;

namespace JobApi.JobKinds;

internal sealed record MonteCarloShard(MonteCarloRange Range, double[] Lo, double[] Hi, IntegrandSpec Integrand);

/// <summary>A shard's exact sums of f and f² (integers in units of 2^-1074, as decimal strings).</summary>
internal sealed record MonteCarloSums(long Samples, string Sum, string SumOfSquares);

internal sealed record MonteCarloContext(double Volume);

/// <summary>
/// Monte Carlo integration of an <see cref="Integrand"/> over a box. Coordinate j of sample i is
/// x_j = lo_j + (hi_j − lo_j) · u with u = <see cref="CounterRng.UnitAt"/>(seed, i·d + j), so a sample depends only on
/// (seed, i). Shards add f and f² of their contiguous index ranges into <see cref="ExactSum"/>s and the merge adds
/// those exactly, so the sums, and the estimate and standard error computed from them, are the same bits for any
/// shard count: estimate = V · (S / n), standard error = V · √((n·Q − S²) / (n²(n − 1))), V = Π (hi_j − lo_j).
/// </summary>
public sealed class MonteCarlo : JobKind<MonteCarloInput>
{
    private const long SamplesPerDefaultShard = 10_000_000;
    private static readonly MonteCarloInputValidator InputValidator = new();

    public override string Name => "montecarlo";
    public override string Description =>
        "Monte Carlo integral of f over the box [lo_j, hi_j] (1 to 16 dimensions), f from a closed family: 'polynomial' " +
        "(sum of terms coef * prod x_j^powers[j]), 'gaussian' (the normal density with 'mean' and 'sigma'), 'ball' (1 inside the " +
        "ball of 'radius' around 'center', else 0: its volume). Samples are SplitMix64 of (seed, index), sums are exact: the same " +
        "result for any shard count. Result: { \"estimate\", \"standardError\", \"samples\" }.";

    public override JsonNode InputSchema => JsonNode.Parse($$"""
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["samples", "lo", "hi", "integrand"],
          "properties": {
            "samples": { "type": "integer", "minimum": 2, "maximum": {{MonteCarloPi.MaxSamples}}, "description": "number of random points" },
            "seed": { "type": "integer", "default": 0, "description": "any int64; the same seed gives the same estimate" },
            "lo": { "$ref": "#/$defs/point", "description": "lower corner of the box, one value per dimension" },
            "hi": { "$ref": "#/$defs/point", "description": "upper corner of the box; hi[j] > lo[j]" },
            "integrand": {
              "type": "object",
              "required": ["family"],
              "oneOf": [
                { "additionalProperties": false, "required": ["terms"], "properties": {
                    "family": { "const": "polynomial" },
                    "terms": { "type": "array", "minItems": 1, "maxItems": {{MonteCarloInputValidator.MaxTerms}}, "items": {
                      "type": "object", "additionalProperties": false, "required": ["coef", "powers"], "properties": {
                        "coef": { "type": "number", "minimum": -{{MonteCarloInputValidator.MaxCoefficient}}, "maximum": {{MonteCarloInputValidator.MaxCoefficient}} },
                        "powers": { "type": "array", "items": { "type": "integer", "minimum": 0 }, "description": "one per dimension, adding up to at most {{MonteCarloInputValidator.MaxDegree}}" } } } } } },
                { "additionalProperties": false, "required": ["mean", "sigma"], "properties": {
                    "family": { "const": "gaussian" },
                    "mean": { "$ref": "#/$defs/point" },
                    "sigma": { "type": "number", "minimum": {{MonteCarloInputValidator.MinSigma}}, "maximum": {{MonteCarloInputValidator.MaxSigma}} } } },
                { "additionalProperties": false, "required": ["radius"], "properties": {
                    "family": { "const": "ball" },
                    "center": { "$ref": "#/$defs/point", "description": "default: the origin" },
                    "radius": { "type": "number", "exclusiveMinimum": 0, "maximum": {{MonteCarloInputValidator.MaxRadius}} } } }
              ]
            }
          },
          "$defs": {
            "point": { "type": "array", "minItems": 1, "maxItems": {{MonteCarloInputValidator.MaxDimension}},
              "items": { "type": "number", "minimum": -{{MonteCarloInputValidator.MaxBound}}, "maximum": {{MonteCarloInputValidator.MaxBound}} } }
          }
        }
        """)!;

    /// <summary>∫∫ over [0,1]² of 3x² + xy = 1.25.</summary>
    public override JsonNode Example => JsonNode.Parse("""
        { "kind": "montecarlo", "shards": 4, "input": { "samples": 1000000, "seed": 42, "lo": [0, 0], "hi": [1, 1],
          "integrand": { "family": "polynomial", "terms": [ { "coef": 3, "powers": [2, 0] }, { "coef": 1, "powers": [1, 1] } ] } } }
        """)!;

    protected override JsonTypeInfo<MonteCarloInput> InputType => KindJsonContext.Default.MonteCarloInput;
    protected override IValidator<MonteCarloInput> Validator => InputValidator;

    protected override int DefaultShards(MonteCarloInput input) => MonteCarloRange.DefaultShards(input.Samples!.Value, SamplesPerDefaultShard);

    protected override JobPlan Split(MonteCarloInput input, int shards)
    {
        var payloads = MonteCarloRange.Split(input.Seed ?? 0, input.Samples!.Value, shards).Select(range =>
            JsonSerializer.Serialize(new MonteCarloShard(range, input.Lo!, input.Hi!, input.Integrand!), KindJsonContext.Default.MonteCarloShard));
        return JobPlan.Of([.. payloads], JsonSerializer.Serialize(new MonteCarloContext(Volume(input.Lo!, input.Hi!)), KindJsonContext.Default.MonteCarloContext));
    }

    /// <summary>Π (hi_j − lo_j), multiplied left to right.</summary>
    public static double Volume(double[] lo, double[] hi)
    {
        var volume = 1.0;
        for (var j = 0; j < lo.Length; j++) volume *= hi[j] - lo[j];
        return volume;
    }

    public override ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
    {
        var shard = JsonSerializer.Deserialize(work.Payload, KindJsonContext.Default.MonteCarloShard) ?? throw new InvalidOperationException("montecarlo: empty shard payload");
        var (sum, squares) = Sums(shard.Range, shard.Lo, shard.Hi, Integrand.From(shard.Integrand, shard.Lo.Length), cancellationToken);
        return ValueTask.FromResult(JsonSerializer.Serialize(new MonteCarloSums(shard.Range.End - shard.Range.Start,
            ExactSum.Format(sum.ToInteger()), ExactSum.Format(squares.ToInteger())), KindJsonContext.Default.MonteCarloSums));
    }

    internal static (ExactSum Sum, ExactSum Squares) Sums(MonteCarloRange range, double[] lo, double[] hi, Integrand f, CancellationToken cancellationToken)
    {
        var d = lo.Length;
        var width = new double[d];
        for (var j = 0; j < d; j++) width[j] = hi[j] - lo[j];
        var seedBase = CounterRng.Base(range.Seed);
        Span<double> x = stackalloc double[d];
        ExactSum sum = new(), squares = new();
        for (var i = range.Start; i < range.End; i++)
        {
            if (((i - range.Start) & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            for (var j = 0; j < d; j++) x[j] = lo[j] + width[j] * CounterRng.UnitAt(seedBase, i * d + j);
            var value = f.At(x);
            sum.Add(value);
            squares.Add(value * value);
        }
        return (sum, squares);
    }

    public override string Merge(string mergeContext, IReadOnlyList<string> shardResults)
    {
        var volume = JsonSerializer.Deserialize(mergeContext, KindJsonContext.Default.MonteCarloContext)!.Volume;
        long n = 0;
        BigInteger sum = BigInteger.Zero, squares = BigInteger.Zero;
        foreach (var json in shardResults)
        {
            var part = JsonSerializer.Deserialize(json, KindJsonContext.Default.MonteCarloSums)!;
            n += part.Samples;
            sum += ExactSum.Parse(part.Sum);
            squares += ExactSum.Parse(part.SumOfSquares);
        }
        var (estimate, standardError) = Estimate(n, sum, squares, volume);
        return new JsonObject { ["estimate"] = estimate, ["standardError"] = standardError, ["samples"] = n }.ToJsonString();
    }

    /// <summary>The estimate and its standard error from the exact sums S of f and Q of f² (units of 2^-1074).</summary>
    public static (double Estimate, double StandardError) Estimate(long n, BigInteger sum, BigInteger squares, double volume)
    {
        var estimate = ExactSum.ToDouble(sum) / n * volume;
        // n·Q − S², exactly, in units of 2^-2148; it is n(n−1) times the sample variance.
        var spread = (n * squares << ExactSum.Scale) - sum * sum;
        if (spread.Sign <= 0) return (estimate, 0.0);
        var (mantissa, exponent) = ExactSum.Split(spread);
        exponent -= 2 * ExactSum.Scale;
        if (exponent % 2 != 0)
        {
            mantissa *= 2;
            exponent--;
        }
        double count = n;
        return (estimate, Math.ScaleB(Math.Sqrt(mantissa / count / count / (count - 1)), exponent / 2) * volume);
    }
}
