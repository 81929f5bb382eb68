using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;

namespace JobApi.JobKinds;

/// <summary>Input of <c>matmul</c>: dense matrices as rows of doubles, <c>a</c> n×k and <c>b</c> k×m.</summary>
public sealed record MatMulInput(double[][]? A, double[][]? B);

internal sealed record MatMulBlock(double[][] A, double[][] B);

public sealed class MatMulInputValidator : AbstractValidator<MatMulInput>
{
    public MatMulInputValidator()
    {
        RuleFor(x => x.A).NotNull().WithMessage("'a' is required.").Must(Rectangular).WithMessage(Shape("a"));
        RuleFor(x => x.B).NotNull().WithMessage("'b' is required.").Must(Rectangular).WithMessage(Shape("b"));
        RuleFor(x => x.B).Must((x, b) => b!.Length == x.A![0].Length)
            .When(x => x.A is not null && x.B is not null && Rectangular(x.A) && Rectangular(x.B))
            .WithMessage("'b' must have as many rows as 'a' has columns (a is n×k, b is k×m).");
    }

    private static string Shape(string name) =>
        $"'{name}' must be 1 to {MatMul.MaxDimension} rows of the same number (1 to {MatMul.MaxDimension}) of numbers.";

    private static bool Rectangular(double[][]? m) =>
        m is { Length: > 0 and <= MatMul.MaxDimension } && m[0] is { Length: > 0 and <= MatMul.MaxDimension }
        && m.All(r => r is not null && r.Length == m[0].Length);
}

/// <summary>Dense matrix product, sharded by blocks of rows of <c>a</c> (each shard gets its rows and all of
/// <c>b</c>). Each entry is summed over k in ascending order, like the naive triple loop; the documented
/// tolerance is 1e-9 relative to Σ|a_ik·b_kj| for each entry.</summary>
public sealed class MatMul : JobKind<MatMulInput>
{
    public const int MaxDimension = 2000;
    private static readonly MatMulInputValidator InputValidator = new();

    public override string Name => "matmul";
    public override string Description =>
        "Multiplies dense double matrices: a (n×k) times b (k×m), each up to 2000 per side, sharded by row blocks of a. " +
        "Result: { \"c\": [[..]] } n×m; each entry is within 1e-9 relative (to the sum of |a_ik·b_kj|) of the naive product.";

    public override JsonNode InputSchema => JsonNode.Parse($$"""
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["a", "b"],
          "properties": {
            "a": { "type": "array", "minItems": 1, "maxItems": {{MaxDimension}}, "items": { "type": "array", "items": { "type": "number" } }, "description": "n×k, rows of equal length" },
            "b": { "type": "array", "minItems": 1, "maxItems": {{MaxDimension}}, "items": { "type": "array", "items": { "type": "number" } }, "description": "k×m, rows of equal length" }
          }
        }
        """)!;

    public override JsonNode Example => JsonNode.Parse("""
        { "kind": "matmul", "input": { "a": [[1, 2], [3, 4], [5, 6]], "b": [[7, 8, 9], [10, 11, 12]] }, "shards": 3 }
        """)!;

    protected override JsonTypeInfo<MatMulInput> InputType => KindJsonContext.Default.MatMulInput;
    protected override IValidator<MatMulInput> Validator => InputValidator;

    /// <summary>About 50 million multiply-adds a shard, never more shards than rows.</summary>
    protected override int DefaultShards(MatMulInput input) =>
        (int)Math.Clamp((long)input.A!.Length * input.B!.Length * input.B[0].Length / 50_000_000 + 1, 1, input.A.Length);

    protected override JobPlan Split(MatMulInput input, int shards)
    {
        var n = input.A!.Length;
        var payloads = Enumerable.Range(0, shards).Select(i => JsonSerializer.Serialize(
            new MatMulBlock(input.A[(int)((long)n * i / shards)..(int)((long)n * (i + 1) / shards)], input.B!), KindJsonContext.Default.MatMulBlock));
        return JobPlan.Of([.. payloads]);
    }

    public override ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
    {
        var block = JsonSerializer.Deserialize(work.Payload, KindJsonContext.Default.MatMulBlock) ?? throw new InvalidOperationException("matmul: empty shard payload");
        var (a, b) = (block.A, block.B);
        var c = new double[a.Length][];
        for (var i = 0; i < a.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = c[i] = new double[b[0].Length];
            // i-k-j order reads b row by row (cache friendly) and still adds the terms of each entry in k order.
            for (var k = 0; k < b.Length; k++)
            {
                var aik = a[i][k];
                var bk = b[k];
                for (var j = 0; j < row.Length; j++) row[j] += aik * bk[j];
            }
        }
        return ValueTask.FromResult(JsonSerializer.Serialize(c, KindJsonContext.Default.DoubleArrayArray));
    }

    public override string Merge(string mergeContext, IReadOnlyList<string> shardResults)
    {
        var rows = shardResults.SelectMany(r => JsonSerializer.Deserialize(r, KindJsonContext.Default.DoubleArrayArray)!).ToArray();
        return "{\"c\":" + JsonSerializer.Serialize(rows, KindJsonContext.Default.DoubleArrayArray) + "}";
    }
}
