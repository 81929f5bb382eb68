using System.Numerics;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

public class MonteCarloPiTests
{
    private static readonly MonteCarloPi Kind = new();

    [Fact]
    public async Task The_estimate_is_identical_for_any_shard_count_and_matches_a_big_integer_reference()
    {
        const int samples = 200_000;
        var seedBase = CounterRng.Base(42);
        long inside = 0;
        for (var i = 0; i < samples; i++)
        {
            var r = CounterRng.At(seedBase, i);
            BigInteger x = r >> 32, y = r & 0xFFFFFFFF;
            if (x * x + y * y < BigInteger.One << 64) inside++;
        }
        foreach (var shards in new[] { 1, 3, 64, 1000 })
        {
            var result = await KindRunner.RunAsync(Kind, $$"""{ "samples": {{samples}}, "seed": 42 }""", shards);
            Assert.Equal(inside, result.GetProperty("inside").GetInt64());
            Assert.Equal(samples, result.GetProperty("samples").GetInt64());
            Assert.Equal(4.0 * inside / samples, result.GetProperty("estimate").GetDouble());
        }
    }

    [Fact]
    public async Task Ten_million_samples_estimate_pi_within_a_thousandth()
    {
        var result = await KindRunner.RunAsync(Kind, """{ "samples": 10000000, "seed": 1 }""", 4);
        Assert.InRange(result.GetProperty("estimate").GetDouble(), Math.PI - 1e-3, Math.PI + 1e-3);
    }

    [Fact]
    public async Task Different_seeds_give_different_samples()
    {
        var a = await KindRunner.RunAsync(Kind, """{ "samples": 100000, "seed": 1 }""", 1);
        var b = await KindRunner.RunAsync(Kind, """{ "samples": 100000, "seed": 2 }""", 1);
        Assert.NotEqual(a.GetProperty("inside").GetInt64(), b.GetProperty("inside").GetInt64());
    }
}
