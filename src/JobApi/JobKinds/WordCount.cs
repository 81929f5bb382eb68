using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;
using JobApi.Inputs;

namespace JobApi.JobKinds;

/// <summary>Input of <c>wordcount</c>: exactly one of <c>text</c>, <c>documents</c> and <c>inputRef</c>, and optionally <c>top</c>.</summary>
public sealed record WordCountInput(string? Text, string[]? Documents, int? Top, string? InputRef = null);

/// <summary>One shard: pieces of the input cut between words (each string is a separate run of text), or the
/// nominal byte range [start, end) of an upload.</summary>
internal sealed record WordCountPiece(string[]? Texts, string? InputRef = null, long Start = 0, long End = 0);

internal sealed record WordCountMergeContext(int Top);

public sealed class WordCountInputValidator : AbstractValidator<WordCountInput>
{
    public WordCountInputValidator()
    {
        RuleFor(x => x.Text).NotNull().WithMessage("Give 'text', 'documents' or 'inputRef'.").When(x => x.Documents is null && x.InputRef is null);
        RuleFor(x => x.InputRef).Null().WithMessage("Give 'inputRef' alone, without 'text' or 'documents'.").When(x => x.Documents is not null || x.Text is not null);
        RuleFor(x => x.Text).Null().WithMessage("Give either 'text' or 'documents', not both.").When(x => x.Documents is not null);
        RuleForEach(x => x.Documents).NotNull().WithMessage("Each of 'documents' must be a string.");
        RuleFor(x => x.Top).InclusiveBetween(1, WordCount.MaxTop).WithMessage($"'top' must be between 1 and {WordCount.MaxTop}.");
    }
}

/// <summary>Counts words (maximal runs of <see cref="char.IsLetterOrDigit(char)"/> characters, lower-cased
/// invariantly). Shards get pieces of the text of about equal length, cut only where no word is split; for an
/// upload, byte ranges cut after an ASCII byte that is not a letter or digit (never inside a word or a UTF-8 sequence).</summary>
public sealed class WordCount(IInputStore inputs) : JobKind<WordCountInput>
{
    private const long BytesPerDefaultShard = 16L << 20;
    public const int MaxTop = 1000;
    private const int DefaultTop = 10;
    private const long CharsPerDefaultShard = 1_000_000;
    private static readonly WordCountInputValidator InputValidator = new();
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public override string Name => "wordcount";
    public override string Description =>
        "Counts words: maximal runs of Unicode letters or digits (char.IsLetterOrDigit), lower-cased with the invariant culture. " +
        "Result: { \"totalWords\", \"distinctWords\", \"top\": [{ \"word\", \"count\" }] }, top ordered by count descending, then word (ordinal).";

    public override JsonNode InputSchema => JsonNode.Parse($$"""
        {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "text": { "type": "string", "description": "the text to count" },
            "documents": { "type": "array", "items": { "type": "string" }, "description": "several texts, counted together" },
            "inputRef": { "type": "string", "description": "id of an upload (POST /v1/inputs) of UTF-8 text" },
            "top": { "type": "integer", "minimum": 1, "maximum": {{MaxTop}}, "default": {{DefaultTop}}, "description": "how many of the most frequent words to list" }
          },
          "oneOf": [ { "required": ["text"] }, { "required": ["documents"] }, { "required": ["inputRef"] } ]
        }
        """)!;

    public override JsonNode Example => JsonNode.Parse("""
        { "kind": "wordcount", "input": { "documents": ["the quick brown fox", "jumps over the lazy dog"], "top": 3 }, "shards": 2 }
        """)!;

    protected override JsonTypeInfo<WordCountInput> InputType => KindJsonContext.Default.WordCountInput;
    protected override IValidator<WordCountInput> Validator => InputValidator;

    private static string[] Documents(WordCountInput input) => input.Documents ?? [input.Text!];

    protected override int DefaultShards(WordCountInput input)
    {
        long chars = Documents(input).Sum(d => (long)d.Length);
        return (int)Math.Clamp((chars + CharsPerDefaultShard - 1) / CharsPerDefaultShard, 1, 256);
    }

    protected override async ValueTask<JobPlan> SplitAsync(WordCountInput input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken)
    {
        if (input.InputRef is null) return await base.SplitAsync(input, requestedShards, maxShards, tenant, cancellationToken);
        var (found, error) = await InputRefs.FindAsync(inputs, input.InputRef, tenant, cancellationToken);
        if (error is not null) return error;
        var shards = ShardCount(requestedShards ?? InputRefs.DefaultShards(found!, BytesPerDefaultShard, 256), maxShards);
        var payloads = Enumerable.Range(0, shards).Select(i =>
        {
            var (start, end) = InputRange.Nominal(found!.Bytes, shards, i);
            return JsonSerializer.Serialize(new WordCountPiece(null, found.Id, start, end), KindJsonContext.Default.WordCountPiece);
        });
        return JobPlan.Of([.. payloads], JsonSerializer.Serialize(new WordCountMergeContext(input.Top ?? DefaultTop), KindJsonContext.Default.WordCountMergeContext));
    }

    protected override JobPlan Split(WordCountInput input, int shards)
    {
        var payloads = TextSplitter.Split(Documents(input), shards)
            .Select(texts => JsonSerializer.Serialize(new WordCountPiece(texts), KindJsonContext.Default.WordCountPiece))
            .ToArray();
        var context = JsonSerializer.Serialize(new WordCountMergeContext(input.Top ?? DefaultTop), KindJsonContext.Default.WordCountMergeContext);
        return JobPlan.Of(payloads, context);
    }

    public override async ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
    {
        var piece = JsonSerializer.Deserialize(work.Payload, KindJsonContext.Default.WordCountPiece)
            ?? throw new InvalidOperationException("wordcount: empty shard payload");
        var texts = piece.Texts;
        if (piece.InputRef is not null)
        {
            var input = await inputs.FindAsync(piece.InputRef, cancellationToken) ?? throw new InputGoneException(piece.InputRef);
            var bytes = await InputRange.ReadRecordsAsync(inputs, input, piece.Start, piece.End, InputRange.IsAsciiNonAlphanumeric, cancellationToken);
            texts = [Encoding.UTF8.GetString(bytes)];
        }
        return CountWords(texts!, cancellationToken);
    }

    private static string CountWords(string[] texts, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        char[] lowered = ArrayPool<char>.Shared.Rent(256);
        try
        {
            foreach (var text in texts)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int i = 0;
                while (i < text.Length)
                {
                    if (!char.IsLetterOrDigit(text[i])) { i++; continue; }
                    int start = i;
                    while (i < text.Length && char.IsLetterOrDigit(text[i])) i++;
                    if (i - start > lowered.Length)
                    {
                        ArrayPool<char>.Shared.Return(lowered);
                        lowered = ArrayPool<char>.Shared.Rent(i - start);
                    }
                    int length = text.AsSpan(start, i - start).ToLowerInvariant(lowered);
                    CollectionsMarshal.GetValueRefOrAddDefault(lookup, lowered.AsSpan(0, length), out _)++;
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(lowered);
        }
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, counts.Count * 16));
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var (word, count) in counts) writer.WriteNumber(word, count);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public override string Merge(string mergeContext, IReadOnlyList<string> shardResults)
    {
        var context = JsonSerializer.Deserialize(mergeContext, KindJsonContext.Default.WordCountMergeContext)
            ?? throw new InvalidOperationException("wordcount: empty merge context");
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var json in shardResults)
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
            reader.Read(); // StartObject
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var word = reader.GetString()!;
                reader.Read();
                CollectionsMarshal.GetValueRefOrAddDefault(counts, word, out _) += reader.GetInt64();
            }
        }
        long total = 0;
        foreach (var count in counts.Values) total += count;
        var top = counts
            .OrderByDescending(c => c.Value)
            .ThenBy(c => c.Key, StringComparer.Ordinal)
            .Take(context.Top);

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("totalWords", total);
            writer.WriteNumber("distinctWords", counts.Count);
            writer.WriteStartArray("top");
            foreach (var (word, count) in top)
            {
                writer.WriteStartObject();
                writer.WriteString("word", word);
                writer.WriteNumber("count", count);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
