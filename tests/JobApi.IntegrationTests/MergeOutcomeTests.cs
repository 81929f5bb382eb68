using System.Text.Json;
using System.Text.Json.Nodes;
using JobApi.Engine;
using JobApi.JobKinds;
using JobApi.Workers;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace JobApi.IntegrationTests;

/// <summary>How a merge ends: a merge that throws fails the job with its error (whichever worker path ran it),
/// and a result's items list expires with the job. Two kinds registered only here have merges that throw.</summary>
[Collection(RedisCollection.Name)]
public sealed class MergeOutcomeTests(RedisServerFixture redis)
    : KindsServiceTest(redis, s => s.AddJobKind<ThrowingMerge>().AddJobKind<ThrowingStreamingMerge>(), new Dictionary<string, string?> { ["JobApi:Retention"] = "00:00:04" })
{
    private JobKeys Keys(string id) => new RedisKeys(Base.KeyPrefix).Job(id);
    private IDatabase Db => Redis.Redis.GetDatabase();

    // 1 shard: the worker holding every shard merges locally, fails, and leaves the merge to the merge lease;
    // 12 shards (concurrency 4): several leases, so the last commit takes the merge lease at once.
    [Theory]
    [InlineData(ThrowingMerge.KindName, 1)]
    [InlineData(ThrowingMerge.KindName, 12)]
    [InlineData(ThrowingStreamingMerge.KindName, 1)]
    [InlineData(ThrowingStreamingMerge.KindName, 12)]
    public async Task A_merge_that_throws_fails_the_job_with_the_merge_error(string kind, int shards)
    {
        var id = (await Client.SubmitAsync(new { kind, input = new { }, shards })).Id();
        var status = await Client.WaitForFinalAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal("failed", status.State());
        var error = status.GetProperty("error").GetString()!;
        Assert.StartsWith("merge failed: ", error);
        Assert.Contains(ThrowingMerge.Message, error);
        using var result = await Client.GetAsync($"/v1/jobs/{id}/result");
        var problem = await result.AssertProblemAsync(409);
        Assert.Equal("failed", problem.GetProperty("state").GetString());
        Assert.False(await Db.KeyExistsAsync(Keys(id).ResultItems), "a failed merge left result items");
        var token = Factory.Services.GetRequiredService<WorkerIdentity>().Token;
        Assert.False(await Db.KeyExistsAsync(Keys(id).ResultItemsStaging(token)), "a failed merge left its staging list");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public async Task A_result_items_list_expires_with_the_job(int shards)
    {
        var numbers = Enumerable.Range(0, 500).Select(i => (i * 7919) % 1000).ToArray();
        var id = (await Client.SubmitAsync(new { kind = "sort", input = new { numbers }, shards })).Id();
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(id, TimeSpan.FromSeconds(30))).State());

        var keys = Keys(id);
        var batch = Db.CreateBatch();
        var jobTtl = batch.KeyTimeToLiveAsync(keys.Job);
        var itemsTtl = batch.KeyTimeToLiveAsync(keys.ResultItems);
        var items = batch.ListRangeAsync(keys.ResultItems);
        batch.Execute();
        Assert.Equal(numbers.Order().Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)), (await items).Select(v => (string)v!));
        Assert.NotNull(await jobTtl);
        Assert.NotNull(await itemsTtl);
        Assert.True(Math.Abs(((await jobTtl)!.Value - (await itemsTtl)!.Value).TotalMilliseconds) < 1000,
            $"job expires in {await jobTtl}, its items in {await itemsTtl}");

        await TestSupport.WaitUntilAsync(async () => !await Db.KeyExistsAsync(keys.Job), "the job expired", TimeSpan.FromSeconds(20));
        Assert.False(await Db.KeyExistsAsync(keys.ResultItems), "the items outlived the job");
    }
}

/// <summary>A kind whose merge always throws.</summary>
internal class ThrowingMerge : IJobKind
{
    public const string KindName = "test-throwing-merge";
    public const string Message = "the merge cannot add these up";

    public virtual string Name => KindName;
    public string Description => "Shards return 1; the merge throws.";
    public JsonNode InputSchema => JsonNode.Parse("""{ "type": "object" }""")!;
    public JsonNode Example => new JsonObject { ["kind"] = Name, ["input"] = new JsonObject() };

    public ValueTask<JobPlan> PlanAsync(JsonElement input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(JobPlan.Of(Enumerable.Repeat("{}", requestedShards ?? 1).ToArray()));

    public ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken) => ValueTask.FromResult("1");

    public virtual string Merge(string mergeContext, IReadOnlyList<string> shardResults) => throw new InvalidOperationException(Message);
}

/// <summary>A kind whose streaming merge writes items (some of them reach Redis), then throws.</summary>
internal sealed class ThrowingStreamingMerge : ThrowingMerge, IStreamingMerge
{
    public new const string KindName = "test-throwing-streaming-merge";
    private const int StagedItems = 25_000;

    public override string Name => KindName;
    public bool ResultHasItems => true;

    public override string Merge(string mergeContext, IReadOnlyList<string> shardResults) =>
        throw new NotSupportedException("merged with MergeAsync");

    public async ValueTask<string> MergeAsync(string mergeContext, IShardResults shardResults, IResultItems items, CancellationToken cancellationToken)
    {
        for (var i = 0; i < shardResults.Count; i++) await items.AddAsync(await shardResults.GetAsync(i, cancellationToken), cancellationToken);
        // Enough items that some reach the staging list in Redis before the merge throws.
        for (var i = 0; i < StagedItems; i++) await items.AddAsync("1", cancellationToken);
        throw new InvalidOperationException(Message);
    }
}
