using System.Text;
using System.Text.Json;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

public class WordCountTests
{
    private static readonly MemoryInputStore Inputs = new(chunkBytes: 41);
    private static readonly WordCount Kind = new(Inputs);

    /// <summary>Characters the random texts are made of: ASCII, accented and non-Latin letters, non-ASCII
    /// digits, marks and symbols that are not letters, and a surrogate pair (never a letter per char).</summary>
    private static readonly string[] Alphabet =
    [
        "a", "b", "c", "A", "B", "Z", "z", "0", "7", " ", " ", " ", ",", ".", "-", "'", "\n", "\t", "_",
        "é", "É", "ß", "Σ", "σ", "ς", "ж", "Ж", "中", "文", "٣", "²", "\u0301", "İ", "ı", "\u00A0", "𝐀", "😀", "Ⅻ",
    ];

    /// <summary>Oracle: one pass over the characters, a word ends at any character that is not a letter or
    /// digit and at the end of each document.</summary>
    private static Dictionary<string, long> Reference(IEnumerable<string> documents)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var document in documents)
        {
            var word = new StringBuilder();
            foreach (var c in document + " ")
            {
                if (char.IsLetterOrDigit(c)) { word.Append(char.ToLowerInvariant(c)); continue; }
                if (word.Length == 0) continue;
                var w = word.ToString();
                counts[w] = counts.GetValueOrDefault(w) + 1;
                word.Clear();
            }
        }
        return counts;
    }

    private static string RandomText(Random random, int length)
    {
        var text = new StringBuilder();
        while (text.Length < length) text.Append(Alphabet[random.Next(Alphabet.Length)]);
        return text.ToString();
    }

    private static void AssertMatchesReference(IReadOnlyList<string> documents, int top, JsonElement result)
    {
        var expected = Reference(documents);
        Assert.Equal(expected.Values.Sum(), result.GetProperty("totalWords").GetInt64());
        Assert.Equal(expected.Count, result.GetProperty("distinctWords").GetInt64());
        var expectedTop = expected.OrderBy(e => -e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Take(top)
            .Select(e => (e.Key, e.Value)).ToList();
        var actualTop = result.GetProperty("top").EnumerateArray()
            .Select(e => (e.GetProperty("word").GetString()!, e.GetProperty("count").GetInt64())).ToList();
        Assert.Equal(expectedTop, actualTop);
    }

    private static string Input(IReadOnlyList<string> documents, int top) =>
        JsonSerializer.Serialize(new { documents, top });

    [Fact]
    public async Task Random_texts_match_a_character_by_character_reference()
    {
        var random = new Random(42);
        for (int i = 0; i < 60; i++)
        {
            var documents = Enumerable.Range(0, random.Next(1, 5)).Select(_ => RandomText(random, random.Next(0, 3000))).ToArray();
            var top = random.Next(1, 50);
            AssertMatchesReference(documents, top, await KindRunner.RunAsync(Kind, Input(documents, top), random.Next(1, 20)));
        }
    }

    [Fact]
    public async Task The_result_does_not_depend_on_the_shard_count()
    {
        var random = new Random(3);
        var documents = new[] { RandomText(random, 50_000), "", RandomText(random, 7), RandomText(random, 20_000) };
        var results = new List<string>();
        foreach (var shards in new[] { 1, 3, 50 })
        {
            var result = await KindRunner.RunAsync(Kind, Input(documents, 100), shards);
            AssertMatchesReference(documents, 100, result);
            results.Add(result.GetRawText());
        }
        Assert.All(results, r => Assert.Equal(results[0], r));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(120)]
    public async Task An_upload_counts_like_the_reference_for_any_shard_count(int shards)
    {
        var text = RandomText(new Random(shards), 6000);
        var id = Inputs.Add(Encoding.UTF8.GetBytes(text));
        AssertMatchesReference([text], 50, await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { inputRef = id, top = 50 }), shards));
    }

    [Fact]
    public async Task A_plain_text_input_counts_case_insensitively()
    {
        var result = await KindRunner.RunAsync(Kind, """{ "text": "The the THE cat, cat; dog. x2 X2" }""");
        Assert.Equal(8, result.GetProperty("totalWords").GetInt64());
        Assert.Equal(4, result.GetProperty("distinctWords").GetInt64());
        Assert.Equal("""[{"word":"the","count":3},{"word":"cat","count":2},{"word":"x2","count":2},{"word":"dog","count":1}]""",
            result.GetProperty("top").GetRawText());
    }

    [Fact]
    public async Task Ties_in_top_are_ordered_by_word_in_ordinal_order()
    {
        var result = await KindRunner.RunAsync(Kind, """{ "text": "b é a 9 B z É A Z 9 c", "top": 5 }""");
        var words = result.GetProperty("top").EnumerateArray().Select(e => e.GetProperty("word").GetString()!).ToArray();
        Assert.Equal(["9", "a", "b", "z", "é"], words); // each twice; "é" (U+00E9) sorts after "z" ordinally
    }

    [Fact]
    public async Task Top_defaults_to_ten()
    {
        var text = string.Join(" ", Enumerable.Range(0, 30).Select(i => $"w{i}"));
        var result = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { text }));
        Assert.Equal(10, result.GetProperty("top").GetArrayLength());
        Assert.Equal(30, result.GetProperty("distinctWords").GetInt64());
    }

    [Fact]
    public async Task Document_boundaries_separate_words()
    {
        var result = await KindRunner.RunAsync(Kind, """{ "documents": ["abc", "def", "", "abc"] }""", 4);
        Assert.Equal(3, result.GetProperty("totalWords").GetInt64());
        Assert.Equal("""[{"word":"abc","count":2},{"word":"def","count":1}]""", result.GetProperty("top").GetRawText());
    }

    [Fact]
    public async Task A_word_longer_than_a_shard_is_never_cut()
    {
        var text = new string('x', 5000) + " y " + new string('Q', 3000);
        var result = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { text }), 50);
        Assert.Equal(3, result.GetProperty("totalWords").GetInt64());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(300)]
    public async Task Shard_pieces_put_together_give_back_the_input(int shards)
    {
        var random = new Random(shards);
        var documents = new[] { RandomText(random, 2000), "", RandomText(random, 500), "𝐀𝐀𝐀𝐀𝐀𝐀𝐀𝐀𝐀𝐀𝐀𝐀" };
        var plan = await KindRunner.PlanAsync(Kind, Input(documents, 10), shards);
        Assert.Equal(shards, plan.ShardPayloads.Count);
        var pieces = plan.ShardPayloads
            .SelectMany(p => JsonDocument.Parse(p).RootElement.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!))
            .ToList();
        Assert.Equal(string.Concat(documents), string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Length > 0 && (char.IsLowSurrogate(p[0]) || char.IsHighSurrogate(p[^1])));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(999_999, 1)]
    [InlineData(1_000_001, 2)]
    [InlineData(2_500_000, 3)]
    public async Task Default_shard_count_grows_with_the_text(int length, int expected)
    {
        var plan = await KindRunner.PlanAsync(Kind, JsonSerializer.Serialize(new { text = new string('a', length) }));
        Assert.Equal(expected, plan.ShardPayloads.Count);
    }
}
