using System.Numerics;
using System.Text.Json;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

public class PrimesTests
{
    private static readonly Primes Kind = new();

    private static async Task<(long Count, BigInteger Sum)> RunAsync(long from, long to, int? shards)
    {
        var result = await KindRunner.RunAsync(Kind, $$"""{ "from": {{from}}, "to": {{to}} }""", shards);
        var sum = result.GetProperty("sum");
        Assert.Equal(JsonValueKind.Number, sum.ValueKind);
        return (result.GetProperty("count").GetInt64(), BigInteger.Parse(sum.GetRawText()));
    }

    /// <summary>Oracle: trial division by every odd number up to the square root.</summary>
    private static (long Count, BigInteger Sum) Naive(long from, long to) =>
        PrimeOracle.CountAndSum(from, to, PrimeOracle.IsPrimeByTrialDivision);

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public async Task Primes_up_to_ten_to_the_eighth_match_the_known_count_and_sum(int shards)
    {
        var (count, sum) = await RunAsync(0, 100_000_000, shards);
        Assert.Equal(5_761_455, count);
        Assert.Equal(BigInteger.Parse("279209790387276"), sum);
    }

    [Fact]
    public async Task Primes_up_to_ten_to_the_ninth_match_the_known_count_and_sum()
    {
        var (count, sum) = await RunAsync(0, 1_000_000_000, 16);
        Assert.Equal(50_847_534, count);
        Assert.Equal(BigInteger.Parse("24739512092254535"), sum);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 1)]
    [InlineData(0, 2)]
    [InlineData(2, 2)]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(13, 13)]
    [InlineData(15, 15)]
    [InlineData(17, 17)]
    [InlineData(0, 200)]
    [InlineData(97, 97)]
    [InlineData(100, 100)]
    [InlineData(169, 169)]
    [InlineData(999_983, 999_983)]
    [InlineData(1_048_476, 1_048_676)]
    [InlineData(999_999_999_989, 999_999_999_989)]
    [InlineData(999_999_999_988, 999_999_999_988)]
    [InlineData(999_999_000_000, 999_999_001_000)]
    [InlineData(1_000_000_000_000 - 1000, 1_000_000_000_000)]
    [InlineData(1_000_000_000_000, 1_000_000_000_000)]
    public async Task Edge_ranges_match_trial_division(long from, long to)
    {
        var expected = Naive(from, to);
        Assert.Equal(expected, await RunAsync(from, to, 1));
        Assert.Equal(expected, await RunAsync(from, to, 3));
    }

    [Fact]
    public async Task Random_small_ranges_match_trial_division()
    {
        var random = new Random(20240601);
        for (int i = 0; i < 200; i++)
        {
            long from = random.Next(0, 3) switch
            {
                0 => random.Next(0, 1000),
                1 => random.Next(0, 5_000_000),
                _ => random.NextInt64(0, 1_000_000_000_000 - 2000),
            };
            long to = from + random.Next(0, i % 10 == 0 ? 20_000 : 300);
            if (from > 1_000_000_000 && to - from > 200) to = from + 200; // trial division up there is slow
            var shards = random.Next(1, 12);
            Assert.Equal(Naive(from, to), await RunAsync(from, to, shards));
        }
    }

    [Fact]
    public async Task Ranges_across_many_segments_match_a_plain_sieve()
    {
        const int limit = 20_000_000;
        var composite = new bool[limit + 1];
        composite[0] = composite[1] = true;
        for (long i = 2; i * i <= limit; i++)
        {
            if (!composite[i]) for (long j = i * i; j <= limit; j += i) composite[j] = true;
        }
        var prefixCount = new long[limit + 2];
        var prefixSum = new long[limit + 2];
        for (int n = 0; n <= limit; n++)
        {
            prefixCount[n + 1] = prefixCount[n] + (composite[n] ? 0 : 1);
            prefixSum[n + 1] = prefixSum[n] + (composite[n] ? 0 : n);
        }
        var random = new Random(7);
        for (int i = 0; i < 40; i++)
        {
            int from = random.Next(0, limit), to = random.Next(from, limit + 1);
            var (count, sum) = await RunAsync(from, to, random.Next(1, 5));
            Assert.Equal(prefixCount[to + 1] - prefixCount[from], count);
            Assert.Equal(prefixSum[to + 1] - prefixSum[from], sum);
        }
    }

    [Theory]
    [InlineData(0, 10_000_000)]
    [InlineData(1_000_000_000_000 - 10_000_000, 1_000_000_000_000)]
    [InlineData(5, 900)] // more shards than numbers: most shards are empty
    public async Task One_shard_and_a_thousand_shards_give_the_same_result(long from, long to)
    {
        Assert.Equal(await RunAsync(from, to, 1), await RunAsync(from, to, 1000));
    }

    [Theory]
    [InlineData(0, 999, 7)]
    [InlineData(5, 900, 1000)]
    [InlineData(0, 1_000_000_000_000, 1024)]
    public async Task Shard_ranges_are_contiguous_and_cover_the_input_exactly(long from, long to, int shards)
    {
        var plan = await KindRunner.PlanAsync(Kind, $$"""{ "from": {{from}}, "to": {{to}} }""", shards);
        Assert.Equal(shards, plan.ShardPayloads.Count);
        long expectedStart = from;
        foreach (var payload in plan.ShardPayloads)
        {
            using var range = JsonDocument.Parse(payload);
            long start = range.RootElement.GetProperty("from").GetInt64(), end = range.RootElement.GetProperty("to").GetInt64();
            Assert.Equal(expectedStart, start);
            Assert.True(end >= start - 1);
            expectedStart = end + 1;
        }
        Assert.Equal(to + 1, expectedStart);
    }

    [Fact]
    public void Merged_sum_above_two_to_the_sixty_fourth_is_an_exact_json_integer()
    {
        var max = ulong.MaxValue.ToString();
        var merged = Kind.Merge("{}", [$$"""{"count":1,"sum":"{{max}}"}""", $$"""{"count":2,"sum":"{{max}}"}"""]);
        using var result = JsonDocument.Parse(merged);
        Assert.Equal(3, result.RootElement.GetProperty("count").GetInt64());
        Assert.Equal(JsonValueKind.Number, result.RootElement.GetProperty("sum").ValueKind);
        Assert.Equal((2 * new BigInteger(ulong.MaxValue)).ToString(), result.RootElement.GetProperty("sum").GetRawText());
    }

    [Theory]
    [InlineData(0, 100, 1)]
    [InlineData(0, 249_999_999, 1)]
    [InlineData(0, 250_000_000, 2)]
    [InlineData(1, 10_000_000_000, 40)]
    [InlineData(0, 1_000_000_000_000, 1024)]
    public async Task Default_shard_count_grows_with_the_range(long from, long to, int expected)
    {
        Assert.Equal(expected, (await KindRunner.PlanAsync(Kind, $$"""{ "from": {{from}}, "to": {{to}} }""")).ShardPayloads.Count);
    }

    [Fact]
    public async Task A_canceled_shard_stops_with_operation_canceled()
    {
        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();
        var payload = (await KindRunner.PlanAsync(Kind, """{ "from": 0, "to": 1000000000 }""", 1)).ShardPayloads[0];
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await Kind.ProcessShardAsync(new ShardWork("j", 0, 1, payload), canceled.Token));
    }
}
