using JobApi.Engine;
using Microsoft.Extensions.DependencyInjection;

namespace JobApi.IntegrationTests;

/// <summary>
/// A lease fence can be handed out twice when Redis loses acknowledged writes (a failover to a replica that had not
/// received the last lease, an AOF cut short): the next lease of the job gets the same fence number, and a worker
/// that held the lost one (same process token) still commits under it. Its refused shards must not count as settled
/// in the new lease, or the new lease would be forgotten while its shards are in flight and the job would never end.
/// An API-only node (no worker), so the test drives every lease and commit itself.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class LeaseFenceTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, ApiOnly)
{
    [Fact]
    public async Task Refused_shards_of_a_reused_fence_leave_the_live_lease_intact_and_the_job_ends()
    {
        var id = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 4 })).Id();
        var queue = Factory.Services.GetRequiredService<ShardQueue>();
        var grant = (await queue.LeaseAsync([id], [2], "worker-a", "token-a")).Single();
        Assert.Equal(LeaseKind.Shards, grant.Kind);
        Assert.Equal(1, grant.Fence);
        var held = grant.Shards!.Select(s => s.Index).ToArray();
        var other = Enumerable.Range(0, 4).Except(held).First();

        // The lost lease 1 had held `other`: its late commit comes under fence 1 with the same token, and is refused.
        var late = await queue.CommitAsync(id, 1, grant.StartedAt, "token-a", "worker-a", [(other, "{}")], null);
        Assert.Equal((CommitOutcome.Committed, 1), late);

        // The live lease 1 still commits both of its shards.
        foreach (var index in held)
            Assert.Equal((CommitOutcome.Committed, 0), await queue.CommitAsync(id, 1, grant.StartedAt, "token-a", "worker-a", [(index, "{}")], null));

        // The rest of the job runs under the next lease and the job succeeds, each shard committed once.
        var rest = (await queue.LeaseAsync([id], [4], "worker-a", "token-a")).Single();
        Assert.Equal(2, rest.Shards!.Count);
        var outcome = await queue.CommitAsync(id, rest.Fence, rest.StartedAt, "token-a", "worker-a", [.. rest.Shards.Select(s => (s.Index, "{}"))], null);
        Assert.Equal(CommitOutcome.CommittedMerge, outcome.Outcome);
        var job = await Redis.Redis.GetDatabase().HashGetAsync(Keys.Job(id).Job, ["commits", "total"]);
        Assert.Equal(4, (int)job[0]);
        Assert.Equal(4, (int)job[1]);
    }
}
