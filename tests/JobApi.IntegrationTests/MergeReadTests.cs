using JobApi.Engine;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace JobApi.IntegrationTests;

/// <summary>The merge reads a job's shard results by index, 1,000 fields per HMGET and 16 HMGETs per round trip: every
/// result comes back in index order across pages and round trips, and a missing one is an error, never a gap.</summary>
[Collection(RedisCollection.Name)]
public sealed class MergeReadTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, ApiOnly)
{
    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(16_000)]
    [InlineData(16_500)]
    public async Task Results_come_back_in_index_order_across_pages_and_round_trips(int total)
    {
        var id = JobId.New();
        var results = Keys.Job(id).Results;
        var db = Redis.Redis.GetDatabase();
        await db.HashSetAsync(results, [.. Enumerable.Range(0, total).Select(i => new HashEntry(i, $"r{i}"))]);
        try
        {
            var read = await Factory.Services.GetRequiredService<ShardQueue>().ReadResultsAsync(id, total);
            Assert.Equal(Enumerable.Range(0, total).Select(i => $"r{i}"), read);
        }
        finally
        {
            await db.KeyDeleteAsync(results);
        }
    }

    [Fact]
    public async Task A_missing_result_is_an_error()
    {
        var id = JobId.New();
        var results = Keys.Job(id).Results;
        var db = Redis.Redis.GetDatabase();
        await db.HashSetAsync(results, [.. Enumerable.Range(0, 1500).Where(i => i != 1234).Select(i => new HashEntry(i, "x"))]);
        try
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Factory.Services.GetRequiredService<ShardQueue>().ReadResultsAsync(id, 1500));
            Assert.Contains("Shard 1234", e.Message);
        }
        finally
        {
            await db.KeyDeleteAsync(results);
        }
    }
}
