using JobApi.Engine;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace JobApi.IntegrationTests;

/// <summary>The merge reads a job's shard results by index, 1,000 fields per HMGET and 16 HMGETs per round trip: every
/// result comes back in index order across pages and round trips, and a missing one is an error, never a gap. A
/// streaming merge reads them one by one, with reads in index order (up or down) pipelined ahead of it.</summary>
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

    [Fact]
    public async Task A_streaming_merge_gets_each_result_in_any_order()
    {
        const int total = 300;
        var (id, db) = (JobId.New(), Redis.Redis.GetDatabase());
        var job = Keys.Job(id);
        await db.HashSetAsync(job.Results, [.. Enumerable.Range(0, total).Select(i => new HashEntry(i, $"r{i}"))]);
        try
        {
            var order = Enumerable.Range(0, total).Concat(Enumerable.Range(0, total).Reverse()) // up, then down
                .Concat([5, 7, 6, 5, 200, 201, 202, 3, 299, 0, 1]).ToList();                     // jumps and turns
            var results = new RedisShardResults(db, job, total);
            foreach (var i in order)
            {
                Assert.Equal($"r{i}", await results.GetAsync(i, CancellationToken.None));
                Assert.InRange(results.Pending, 0, RedisShardResults.MaxAhead);
            }
        }
        finally
        {
            await db.KeyDeleteAsync(job.Results);
        }
    }

    [Fact]
    public async Task Reads_ahead_stay_within_the_byte_budget_and_a_missing_result_is_an_error()
    {
        var (id, db) = (JobId.New(), Redis.Redis.GetDatabase());
        var job = Keys.Job(id);
        var big = new string('x', (int)RedisShardResults.AheadBytes / 2 + 1); // room for one read ahead at a time
        await db.HashSetAsync(job.Results, [.. Enumerable.Range(0, 6).Where(i => i != 4).Select(i => new HashEntry(i, i < 3 ? big : "small"))]);
        try
        {
            var results = new RedisShardResults(db, job, 6);
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(big.Length, (await results.GetAsync(i, CancellationToken.None)).Length);
                Assert.InRange(results.Pending, 0, 1);
            }
            Assert.Equal("small", await results.GetAsync(3, CancellationToken.None));
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await results.GetAsync(4, CancellationToken.None));
            Assert.Contains("Shard 4", e.Message);
            Assert.Equal("small", await results.GetAsync(5, CancellationToken.None));
        }
        finally
        {
            await db.KeyDeleteAsync(job.Results);
        }
    }
}
