using System.Text;
using System.Text.Json;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

public class SortTests
{
    private static readonly MemoryInputStore Inputs = new(chunkBytes: 37);
    private static readonly Sort Kind = new(Inputs);

    private static string[] Items(JsonElement result) => result.GetProperty("items").EnumerateArray().Select(e => e.GetRawText()).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    public async Task Random_int64s_come_out_as_Array_Sort_orders_them_both_ways(int shards)
    {
        var random = new Random(shards);
        var values = Enumerable.Range(0, 2000).Select(_ => random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(0, 60)).ToArray();
        var expected = values.ToArray();
        Array.Sort(expected);
        var asc = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { numbers = values }), shards);
        Assert.Equal(expected.Select(v => v.ToString()), Items(asc));
        Assert.Equal(2000, asc.GetProperty("count").GetInt64());
        var desc = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { numbers = values, order = "desc" }), shards);
        Assert.Equal(expected.Reverse().Select(v => v.ToString()), Items(desc));
    }

    [Fact]
    public async Task Doubles_and_integers_together_sort_numerically()
    {
        var random = new Random(5);
        var values = Enumerable.Range(0, 500).Select(i => i % 3 == 0 ? random.Next(-1000, 1000) : (random.NextDouble() - 0.5) * 1e6).ToArray();
        var input = JsonSerializer.Serialize(new { numbers = values });
        var expected = values.Order().ToArray();
        foreach (var shards in new[] { 1, 4, 9 })
        {
            var items = Items(await KindRunner.RunAsync(Kind, input, shards)).Select(double.Parse).ToArray();
            Assert.Equal(expected, items);
        }
    }

    /// <summary>Oracle: compare the UTF-8 bytes, as LC_ALL=C sort does.</summary>
    private static string[] ByUtf8Bytes(IEnumerable<string> lines) =>
        lines.Select(l => (Line: l, Bytes: Encoding.UTF8.GetBytes(l))).ToList()
            .OrderBy(p => p.Bytes, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b))).Select(p => p.Line).ToArray();

    private static readonly string[] Alphabet = ["a", "B", "z", " ", "é", "\uFF5E", "😀", "\uE000", "中", "0", "\t", "~"];

    private static string RandomLine(Random random) =>
        string.Concat(Enumerable.Range(0, random.Next(0, 6)).Select(_ => Alphabet[random.Next(Alphabet.Length)]));

    [Fact]
    public async Task Lines_are_ordered_by_their_utf8_bytes_for_any_shard_count()
    {
        var random = new Random(9);
        var lines = Enumerable.Range(0, 800).Select(_ => RandomLine(random)).ToArray();
        var expected = ByUtf8Bytes(lines);
        foreach (var shards in new[] { 1, 2, 13 })
        {
            var result = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { lines }), shards);
            Assert.Equal(expected, result.GetProperty("items").EnumerateArray().Select(e => e.GetString()!));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(40)]
    public async Task Uploaded_lines_sort_like_the_inline_ones_whatever_the_shard_ranges(int shards)
    {
        var random = new Random(shards);
        var lines = Enumerable.Range(0, 300).Select(_ => RandomLine(random)).ToArray();
        var id = Inputs.Add(Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"));
        var result = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { inputRef = id, format = "lines", order = "desc" }), shards);
        Assert.Equal(ByUtf8Bytes(lines).Reverse(), result.GetProperty("items").EnumerateArray().Select(e => e.GetString()!));
    }

    [Fact]
    public async Task Uploaded_numbers_one_a_line_sort_numerically()
    {
        var random = new Random(3);
        var values = Enumerable.Range(0, 700).Select(_ => random.NextInt64(-1_000_000_000_000, 1_000_000_000_000)).ToArray();
        var id = Inputs.Add(Encoding.ASCII.GetBytes(string.Join("\n", values))); // no final newline
        var result = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { inputRef = id, format = "numbers" }), 7);
        Assert.Equal(values.Order().Select(v => v.ToString()), Items(result));
    }

    [Fact]
    public async Task Generated_values_are_the_sorted_counter_based_sequence_for_any_shard_count()
    {
        var seedBase = CounterRng.Base(42);
        var expected = Enumerable.Range(0, 5000).Select(i => CounterRng.Int64At(seedBase, i)).ToArray();
        Array.Sort(expected);
        foreach (var shards in new[] { 1, 3, 64 })
        {
            var result = await KindRunner.RunAsync(Kind, """{ "generate": { "count": 5000, "seed": 42 } }""", shards);
            Assert.Equal(expected.Select(v => v.ToString()), Items(result));
        }
        var desc = await KindRunner.RunAsync(Kind, """{ "generate": { "count": 5000, "seed": 42 }, "order": "desc" }""", 6);
        Assert.Equal(expected.Reverse().Select(v => v.ToString()), Items(desc));
    }

    [Fact]
    public async Task Empty_inputs_give_an_empty_result()
    {
        var result = await KindRunner.RunAsync(Kind, """{ "lines": [] }""", 3);
        Assert.Equal(0, result.GetProperty("count").GetInt64());
        Assert.Empty(Items(await KindRunner.RunAsync(Kind, $$"""{ "inputRef": "{{Inputs.Add([])}}", "format": "numbers" }""", 2)));
    }
}
