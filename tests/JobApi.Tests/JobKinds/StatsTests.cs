using System.Text;
using System.Text.Json;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

public class StatsTests
{
    private static readonly MemoryInputStore Inputs = new(chunkBytes: 50);
    private static readonly Stats Kind = new(Inputs);

    /// <summary>Oracle: a two-pass reference (mean, then squared deviations) in decimal, quantiles by sorting.</summary>
    private static void AssertMatchesReference(double[] values, JsonElement result)
    {
        var n = values.Length;
        var sorted = values.Order().ToArray();
        var mean = values.Select(v => (decimal)v).Sum() / n;
        var variance = (double)(values.Select(v => ((decimal)v - mean) * ((decimal)v - mean)).Sum() / n);
        Assert.Equal(n, result.GetProperty("count").GetInt64());
        Close((double)values.Select(v => (decimal)v).Sum(), result.GetProperty("sum").GetDouble());
        Assert.Equal(sorted[0], result.GetProperty("min").GetDouble());
        Assert.Equal(sorted[^1], result.GetProperty("max").GetDouble());
        Close((double)mean, result.GetProperty("mean").GetDouble());
        Close(variance, result.GetProperty("variance").GetDouble());
        Close(Math.Sqrt(variance), result.GetProperty("stddev").GetDouble());
        foreach (var p in new[] { 50, 90, 99 })
            Assert.Equal(sorted[(int)Math.Ceiling(p / 100.0 * n) - 1], result.GetProperty($"p{p}").GetDouble());
    }

    private static void Close(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-9 * Math.Max(1, Math.Abs(expected)), $"expected {expected}, got {actual}");

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(33)]
    public async Task Random_values_match_a_two_pass_reference(int shards)
    {
        var random = new Random(shards);
        var values = Enumerable.Range(0, 1000).Select(i => i % 2 == 0 ? random.Next(-50, 50) : random.NextDouble() * 1e4 + 1e6).ToArray();
        AssertMatchesReference(values, await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { values }), shards));
    }

    [Fact]
    public async Task The_textbook_example_has_mean_five_and_stddev_two()
    {
        var result = await KindRunner.RunAsync(Kind, """{ "values": [2, 4, 4, 4, 5, 5, 7, 9] }""", 3);
        Assert.Equal("""{"count":8,"sum":40,"min":2,"max":9,"mean":5,"variance":4,"stddev":2,"p50":4,"p90":9,"p99":9}""", result.GetRawText());
    }

    [Fact]
    public async Task Generated_int64s_give_an_exact_sum_and_the_same_result_for_any_shard_count()
    {
        var seedBase = CounterRng.Base(7);
        var values = Enumerable.Range(0, 3000).Select(i => CounterRng.Int64At(seedBase, i)).ToArray();
        var sorted = values.Order().ToArray();
        var results = new List<string>();
        foreach (var shards in new[] { 1, 2, 25 })
        {
            var result = await KindRunner.RunAsync(Kind, """{ "generate": { "count": 3000, "seed": 7 } }""", shards);
            Assert.Equal(values.Aggregate(Int128.Zero, (s, v) => s + v).ToString(), result.GetProperty("sum").GetRawText());
            Assert.Equal(sorted[0].ToString(), result.GetProperty("min").GetRawText());
            Assert.Equal(sorted[1499].ToString(), result.GetProperty("p50").GetRawText());
            Assert.Equal(sorted[2969].ToString(), result.GetProperty("p99").GetRawText());
            results.Add(result.GetRawText());
        }
        Assert.All(results, r => Assert.Equal(results[0].Length, r.Length));
    }

    [Fact]
    public async Task Uploaded_numbers_match_the_reference()
    {
        var random = new Random(2);
        var values = Enumerable.Range(0, 400).Select(_ => Math.Round(random.NextDouble() * 200 - 100, 3)).ToArray();
        var id = Inputs.Add(Encoding.ASCII.GetBytes(string.Join("\n", values.Select(v => v.ToString("R"))) + "\n\n"));
        AssertMatchesReference(values, await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { inputRef = id }), 6));
    }
}
