using System.Text.Json;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

public class MatMulTests
{
    private static readonly MatMul Kind = new();

    private static double[][] Random(Random random, int rows, int cols) =>
        Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, cols).Select(_ => random.NextDouble() * 20 - 10).ToArray()).ToArray();

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(7, 5, 3, 2)]
    [InlineData(20, 31, 17, 20)]
    [InlineData(3, 4, 5, 10)]
    public async Task The_product_is_the_naive_triple_loop_within_the_documented_tolerance(int n, int k, int m, int shards)
    {
        var random = new Random(n * 100 + shards);
        var (a, b) = (Random(random, n, k), Random(random, k, m));
        var result = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { a, b }), shards);
        var c = result.GetProperty("c").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
        Assert.Equal(n, c.Length);
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(m, c[i].Length);
            for (var j = 0; j < m; j++)
            {
                double naive = 0, magnitude = 0;
                for (var x = 0; x < k; x++) { naive += a[i][x] * b[x][j]; magnitude += Math.Abs(a[i][x] * b[x][j]); }
                Assert.True(Math.Abs(c[i][j] - naive) <= 1e-9 * magnitude, $"c[{i}][{j}] = {c[i][j]}, naive {naive}");
            }
        }
    }

    [Fact]
    public async Task A_small_product_is_exact()
    {
        var result = await KindRunner.RunAsync(Kind, """{ "a": [[1, 2], [3, 4], [5, 6]], "b": [[7, 8, 9], [10, 11, 12]] }""", 2);
        Assert.Equal("[[27,30,33],[61,68,75],[95,106,117]]", result.GetProperty("c").GetRawText());
    }
}
