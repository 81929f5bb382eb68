using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;

namespace JobApi.JobKinds;

/// <summary>Input of <c>primes</c>: the inclusive range [from, to]. Nullable so that a missing field is a
/// field error rather than a silent 0.</summary>
public sealed record PrimesInput(long? From, long? To);

/// <summary>One shard's sub-range; empty when <c>from &gt; to</c> (more shards than numbers).</summary>
internal sealed record PrimesRange(long From, long To);

/// <summary>One shard's result; the sum is a decimal string because it may exceed 64 bits.</summary>
internal sealed record PrimesShardResult(long Count, string Sum);

public sealed class PrimesInputValidator : AbstractValidator<PrimesInput>
{
    public PrimesInputValidator()
    {
        RuleFor(x => x.From)
            .NotNull().WithMessage("'from' is required.")
            .InclusiveBetween(0, Primes.MaxTo).WithMessage($"'from' must be between 0 and {Primes.MaxTo}.");
        RuleFor(x => x.To)
            .NotNull().WithMessage("'to' is required.")
            .InclusiveBetween(0, Primes.MaxTo).WithMessage($"'to' must be between 0 and {Primes.MaxTo}.");
        RuleFor(x => x.To)
            .GreaterThanOrEqualTo(x => x.From).WithMessage("'to' must be greater than or equal to 'from'.")
            .When(x => x.From is not null && x.To is not null);
    }
}

/// <summary>Counts and sums the primes in [from, to]; each shard sieves a contiguous sub-range.</summary>
public sealed class Primes : JobKind<PrimesInput>
{
    public const long MaxTo = PrimeSieve.MaxLimit;
    /// <summary>Numbers per shard when the client names no count: some 40 ms of sieving near 10^10, long enough that the
    /// engine's cost per shard (a lease, a commit) stays small beside it; 0..10^10 becomes 40 shards.</summary>
    private const long NumbersPerDefaultShard = 250_000_000;
    private static readonly PrimesInputValidator InputValidator = new();

    public override string Name => "primes";
    public override string Description =>
        "Counts and sums the primes p with from <= p <= to (0 <= from <= to <= 10^12) with a segmented sieve of Eratosthenes. " +
        "Result: { \"count\", \"sum\" }; sum is an exact JSON integer, also above 2^64.";

    public override JsonNode InputSchema => JsonNode.Parse($$"""
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["from", "to"],
          "properties": {
            "from": { "type": "integer", "minimum": 0, "maximum": {{MaxTo}}, "description": "first number of the range (inclusive)" },
            "to": { "type": "integer", "minimum": 0, "maximum": {{MaxTo}}, "description": "last number of the range (inclusive), at least from" }
          }
        }
        """)!;

    public override JsonNode Example => JsonNode.Parse("""
        { "kind": "primes", "input": { "from": 0, "to": 1000000 }, "shards": 4 }
        """)!;

    protected override JsonTypeInfo<PrimesInput> InputType => KindJsonContext.Default.PrimesInput;
    protected override IValidator<PrimesInput> Validator => InputValidator;

    protected override int DefaultShards(PrimesInput input)
    {
        long size = input.To!.Value - input.From!.Value + 1;
        return (int)Math.Clamp((size + NumbersPerDefaultShard - 1) / NumbersPerDefaultShard, 1, 1024);
    }

    protected override JobPlan Split(PrimesInput input, int shards)
    {
        long from = input.From!.Value, size = input.To!.Value - from + 1;
        var payloads = new string[shards];
        for (int i = 0; i < shards; i++)
        {
            // size * shards <= (10^12 + 1) * 10^5 fits a long; the ranges are contiguous and cover [from, to] exactly.
            long start = from + size * i / shards, end = from + size * (i + 1) / shards - 1;
            payloads[i] = JsonSerializer.Serialize(new PrimesRange(start, end), KindJsonContext.Default.PrimesRange);
        }
        return JobPlan.Of(payloads);
    }

    public override ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
    {
        var range = JsonSerializer.Deserialize(work.Payload, KindJsonContext.Default.PrimesRange)
            ?? throw new InvalidOperationException("primes: empty shard payload");
        var (count, sum) = range.From > range.To ? (0L, UInt128.Zero) : PrimeSieve.CountAndSum(range.From, range.To, cancellationToken);
        var result = new PrimesShardResult(count, sum.ToString(CultureInfo.InvariantCulture));
        return ValueTask.FromResult(JsonSerializer.Serialize(result, KindJsonContext.Default.PrimesShardResult));
    }

    public override string Merge(string mergeContext, IReadOnlyList<string> shardResults)
    {
        long count = 0;
        UInt128 sum = 0;
        foreach (var json in shardResults)
        {
            var shard = JsonSerializer.Deserialize(json, KindJsonContext.Default.PrimesShardResult)
                ?? throw new InvalidOperationException("primes: empty shard result");
            count += shard.Count;
            sum += UInt128.Parse(shard.Sum, NumberStyles.None, CultureInfo.InvariantCulture);
        }
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("count", count);
            writer.WritePropertyName("sum");
            writer.WriteRawValue(sum.ToString(CultureInfo.InvariantCulture)); // a JSON integer even above 2^64
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
