using System.Numerics;

namespace JobApi.IntegrationTests;

/// <summary>Results are exact and independent of the shard count: 1 shard and 1,000 shards agree with each other
/// and with the oracle.</summary>
[Collection(RedisCollection.Name)]
public sealed class ShardCountTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task Primes_below_a_million_give_the_known_answer_with_1_and_with_1000_shards()
    {
        var one = await Client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 1_000_000 }, shards = 1 });
        var many = await Client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 1_000_000 }, shards = 1000 });
        Assert.Equal(1000, many.GetProperty("shards").GetProperty("total").GetInt32());
        foreach (var job in new[] { one, many })
        {
            var result = await Client.ResultAsync(job.Id());
            Assert.Equal(78_498, result.GetProperty("count").GetInt64());
            Assert.Equal(new BigInteger(37_550_402_023L), BigInteger.Parse(result.GetProperty("sum").GetRawText()));
        }
    }

    [Fact]
    public async Task A_merge_of_2500_shards_reads_every_page_of_results_in_order()
    {
        // The merge reads shard results 1,000 per HMGET: 2,500 shards take three pages, the last one short.
        var job = await Client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 2_000_000 }, shards = 2500 });
        var result = await Client.ResultAsync(job.Id());
        var (count, sum) = Oracles.PrimesByTrialDivision(0, 2_000_000);
        Assert.Equal(count, result.GetProperty("count").GetInt64());
        Assert.Equal(sum, BigInteger.Parse(result.GetProperty("sum").GetRawText()));
    }

    [Fact]
    public async Task Primes_with_more_shards_than_numbers_still_count_each_prime_once()
    {
        var job = await Client.SubmitAsync(new { kind = "primes", input = new { from = 10, to = 40 }, shards = 1000 });
        var result = await Client.ResultAsync(job.Id());
        var (count, sum) = Oracles.PrimesByTrialDivision(10, 40);
        Assert.Equal(count, result.GetProperty("count").GetInt64());
        Assert.Equal(sum, BigInteger.Parse(result.GetProperty("sum").GetRawText()));
    }

    [Fact]
    public async Task Wordcount_gives_the_same_result_with_1_and_with_1000_shards()
    {
        var seed = Environment.TickCount;
        var text = Oracles.RandomAsciiText(new Random(seed), 8_000);
        var one = await Client.SubmitAsync(new { kind = "wordcount", input = new { text, top = 50 }, shards = 1 });
        var many = await Client.SubmitAsync(new { kind = "wordcount", input = new { text, top = 50 }, shards = 1000 });
        var oneResult = await Client.ResultAsync(one.Id());
        var manyResult = await Client.ResultAsync(many.Id());

        Assert.Equal(oneResult.GetRawText(), manyResult.GetRawText());
        Oracles.AssertWordCount(Oracles.GnuWordCount([text]), 50, manyResult, $"seed {seed}");
    }
}
