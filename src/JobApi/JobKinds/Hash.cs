using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;
using JobApi.Inputs;

namespace JobApi.JobKinds;

/// <summary>Input of <c>hash</c>: <c>documents</c> (UTF-8 text) or <c>inputRef</c> (with <c>chunkBytes</c>), and <c>algorithm</c>.</summary>
public sealed record HashInput(string[]? Documents, string? InputRef, string? Algorithm, int? ChunkBytes);

internal sealed record HashPayload(string Algorithm, string[]? Documents = null, string? InputRef = null, int ChunkBytes = 0, long FirstChunk = 0, long EndChunk = 0);

internal sealed record HashContext(string Algorithm, string? InputRef);

public sealed class HashInputValidator : AbstractValidator<HashInput>
{
    public HashInputValidator()
    {
        RuleFor(x => x).Must(x => (x.Documents is null) != (x.InputRef is null)).OverridePropertyName("")
            .WithMessage("Give exactly one of 'documents' or 'inputRef'.");
        RuleForEach(x => x.Documents).NotNull().WithMessage("Each of 'documents' must be a string.");
        RuleFor(x => x.Algorithm).Must(a => a is null or "sha256" or "sha1" or "md5").WithMessage("'algorithm' must be 'sha256', 'sha1' or 'md5'.");
        RuleFor(x => x.ChunkBytes).InclusiveBetween(Hash.MinChunkBytes, Hash.MaxChunkBytes)
            .WithMessage($"'chunkBytes' must be between {Hash.MinChunkBytes} and {Hash.MaxChunkBytes}.");
        RuleFor(x => x.ChunkBytes).Null().When(x => x.InputRef is null).WithMessage("'chunkBytes' goes only with 'inputRef'.");
    }
}

/// <summary>Hex digests of documents, or of an upload: the digest of the whole input plus a Merkle root over
/// fixed-size chunks, as RFC 6962 defines the Merkle Tree Hash (leaf = H(0x00 ‖ chunk), node = H(0x01 ‖ left ‖ right),
/// the left subtree holding the largest power of two of chunks below the count; an empty input's root is H("")).
/// Shards hash ranges of chunks; the merge builds the tree and streams the input once for the whole digest.</summary>
public sealed class Hash(IInputStore inputs) : StreamingJobKind<HashInput>
{
    public const int MinChunkBytes = 1024;
    public const int MaxChunkBytes = 64 << 20;
    private const int DefaultChunkBytes = 1 << 20;
    private static readonly HashInputValidator InputValidator = new();

    public override string Name => "hash";
    public override string Description =>
        "Hex digests (sha256, sha1 or md5; default sha256). 'documents' (UTF-8 text): { \"digests\" } in input order. 'inputRef': " +
        "{ \"digest\" of the whole input, \"merkleRoot\", \"chunks\" }; the Merkle root is RFC 6962's Merkle Tree Hash over chunks of " +
        "'chunkBytes' (1 KiB..64 MiB, default 1 MiB): leaf H(0x00||chunk), node H(0x01||left||right); an empty input's root is H().";

    public override JsonNode InputSchema => JsonNode.Parse($$"""
        {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "documents": { "type": "array", "items": { "type": "string" }, "description": "texts to hash, each as UTF-8" },
            "inputRef": { "type": "string", "description": "id of an upload (POST /v1/inputs)" },
            "algorithm": { "type": "string", "enum": ["sha256", "sha1", "md5"], "default": "sha256" },
            "chunkBytes": { "type": "integer", "minimum": {{MinChunkBytes}}, "maximum": {{MaxChunkBytes}}, "default": {{DefaultChunkBytes}}, "description": "Merkle leaf size; only with inputRef" }
          },
          "oneOf": [ { "required": ["documents"] }, { "required": ["inputRef"] } ]
        }
        """)!;

    public override JsonNode Example => JsonNode.Parse("""
        { "kind": "hash", "input": { "documents": ["hello", "world", ""], "algorithm": "sha256" }, "shards": 2 }
        """)!;

    public override bool ResultHasItems => false;
    protected override JsonTypeInfo<HashInput> InputType => KindJsonContext.Default.HashInput;
    protected override IValidator<HashInput> Validator => InputValidator;

    protected override int DefaultShards(HashInput input) => (int)Math.Clamp(input.Documents!.Sum(d => (long)d.Length) / 4_000_000 + 1, 1, 64);

    protected override async ValueTask<JobPlan> SplitAsync(HashInput input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken)
    {
        var algorithm = input.Algorithm ?? "sha256";
        if (input.InputRef is null) return await base.SplitAsync(input, requestedShards, maxShards, tenant, cancellationToken);
        var (found, error) = await InputRefs.FindAsync(inputs, input.InputRef, tenant, cancellationToken);
        if (error is not null) return error;
        var chunkBytes = input.ChunkBytes ?? DefaultChunkBytes;
        var chunks = (found!.Bytes + chunkBytes - 1) / chunkBytes;
        var shards = ShardCount(requestedShards ?? InputRefs.DefaultShards(found, 64L << 20, 256), maxShards);
        var payloads = Enumerable.Range(0, shards).Select(i => JsonSerializer.Serialize(
            new HashPayload(algorithm, InputRef: found.Id, ChunkBytes: chunkBytes, FirstChunk: chunks * i / shards, EndChunk: chunks * (i + 1) / shards),
            KindJsonContext.Default.HashPayload));
        return JobPlan.Of([.. payloads], JsonSerializer.Serialize(new HashContext(algorithm, found.Id), KindJsonContext.Default.HashContext));
    }

    protected override JobPlan Split(HashInput input, int shards)
    {
        var docs = input.Documents!;
        var payloads = Enumerable.Range(0, shards).Select(i => JsonSerializer.Serialize(
            new HashPayload(input.Algorithm ?? "sha256", Documents: docs[(int)((long)docs.Length * i / shards)..(int)((long)docs.Length * (i + 1) / shards)]),
            KindJsonContext.Default.HashPayload));
        return JobPlan.Of([.. payloads], JsonSerializer.Serialize(new HashContext(input.Algorithm ?? "sha256", null), KindJsonContext.Default.HashContext));
    }

    internal static HashAlgorithmName AlgorithmName(string name) => name switch
    {
        "sha1" => HashAlgorithmName.SHA1,
        "md5" => HashAlgorithmName.MD5,
        _ => HashAlgorithmName.SHA256,
    };

    public override async ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
    {
        var p = JsonSerializer.Deserialize(work.Payload, KindJsonContext.Default.HashPayload) ?? throw new InvalidOperationException("hash: empty shard payload");
        var name = AlgorithmName(p.Algorithm);
        if (p.Documents is not null)
            return JsonSerializer.Serialize(p.Documents.Select(d => Convert.ToHexStringLower(Digest(name, Encoding.UTF8.GetBytes(d)))).ToArray(), KindJsonContext.Default.StringArray);

        var input = await inputs.FindAsync(p.InputRef!, cancellationToken) ?? throw new InputGoneException(p.InputRef!);
        var leaves = new List<string>();
        using var leaf = IncrementalHash.CreateHash(name);
        leaf.AppendData([0x00]);
        long inLeaf = 0, start = p.FirstChunk * p.ChunkBytes, end = Math.Min(input.Bytes, p.EndChunk * p.ChunkBytes);
        await foreach (var piece in InputRange.ReadAsync(inputs, input, start, end, cancellationToken))
        {
            for (var rest = piece; rest.Length > 0;)
            {
                var take = (int)Math.Min(rest.Length, p.ChunkBytes - inLeaf);
                leaf.AppendData(rest.Span[..take]);
                rest = rest[take..];
                inLeaf += take;
                if (inLeaf < p.ChunkBytes) continue;
                leaves.Add(Convert.ToHexStringLower(leaf.GetHashAndReset()));
                leaf.AppendData([0x00]);
                inLeaf = 0;
            }
        }
        if (inLeaf > 0) leaves.Add(Convert.ToHexStringLower(leaf.GetHashAndReset())); // the input's short last chunk
        return JsonSerializer.Serialize(leaves.ToArray(), KindJsonContext.Default.StringArray);
    }

    private static byte[] Digest(HashAlgorithmName name, byte[] data) => CryptographicOperations.HashData(name, data);

    public override async ValueTask<string> MergeAsync(string mergeContext, IShardResults shardResults, IResultItems items, CancellationToken cancellationToken)
    {
        var context = JsonSerializer.Deserialize(mergeContext, KindJsonContext.Default.HashContext) ?? throw new InvalidOperationException("hash: empty merge context");
        var digests = new List<string>();
        for (var k = 0; k < shardResults.Count; k++)
            digests.AddRange(JsonSerializer.Deserialize(await shardResults.GetAsync(k, cancellationToken), KindJsonContext.Default.StringArray)!);
        if (context.InputRef is null) return new JsonObject { ["digests"] = new JsonArray([.. digests.Select(d => JsonValue.Create(d))]) }.ToJsonString();

        var name = AlgorithmName(context.Algorithm);
        var input = await inputs.FindAsync(context.InputRef, cancellationToken) ?? throw new InputGoneException(context.InputRef);
        using var whole = IncrementalHash.CreateHash(name);
        await foreach (var piece in InputRange.ReadAsync(inputs, input, 0, input.Bytes, cancellationToken)) whole.AppendData(piece.Span);
        var root = MerkleRoot(name, digests.Select(Convert.FromHexString).ToList());
        return new JsonObject
        {
            ["digest"] = Convert.ToHexStringLower(whole.GetHashAndReset()),
            ["merkleRoot"] = Convert.ToHexStringLower(root),
            ["chunks"] = digests.Count,
        }.ToJsonString();
    }

    /// <summary>RFC 6962's tree, built bottom up: pairing neighbours level by level and moving an odd last node up
    /// unchanged gives the same tree as splitting at the largest power of two.</summary>
    internal static byte[] MerkleRoot(HashAlgorithmName name, List<byte[]> level)
    {
        if (level.Count == 0) return Digest(name, []);
        while (level.Count > 1)
        {
            var next = new List<byte[]>((level.Count + 1) / 2);
            for (var i = 0; i + 1 < level.Count; i += 2) next.Add(Digest(name, [0x01, .. level[i], .. level[i + 1]]));
            if (level.Count % 2 == 1) next.Add(level[^1]);
            level = next;
        }
        return level[0];
    }
}
