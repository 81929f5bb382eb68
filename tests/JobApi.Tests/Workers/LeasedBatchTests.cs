using JobApi.Engine;
using JobApi.Workers;

namespace JobApi.Tests.Workers;

/// <summary>The group commit of one lease: what a flush takes, and when the lease's results are all in (the point a
/// flush of short shards waits for, so that the lease costs one commit).</summary>
public class LeasedBatchTests
{
    private static LeasedBatch Lease(int shards, int total = 10) => new(new LeaseGrant("job", LeaseKind.Shards, "noop", 1, total, 0,
        "", [.. Enumerable.Range(0, shards).Select(i => new LeasedShard(i, 1, ""))]));

    [Fact]
    public void The_first_result_starts_the_flush_and_later_ones_join_it()
    {
        var batch = Lease(3);
        Assert.True(batch.Add(0, "a"));
        Assert.False(batch.Add(1, "b"));
        var (items, completes) = batch.TakePending();
        Assert.Equal([(0, "a"), (1, "b")], items);
        Assert.False(completes);
        Assert.False(batch.IsComplete);
        Assert.Empty(batch.TakePending().Items); // nothing waits: the flush ends
        Assert.True(batch.Add(2, "c"));          // and the next result starts another
    }

    [Fact]
    public void Results_are_all_in_once_every_unsettled_shard_has_one()
    {
        var batch = Lease(3);
        Assert.True(batch.AllResultsIn().IsCompleted); // nothing waits to be committed: nothing to wait for
        batch.Add(0, "a");
        var allIn = batch.AllResultsIn();
        Assert.False(allIn.IsCompleted);
        batch.Add(1, "b");
        Assert.False(allIn.IsCompleted);
        batch.Add(2, "c");
        Assert.True(allIn.IsCompleted);
        Assert.Equal(3, batch.TakePending().Items.Count);
    }

    [Fact]
    public void A_shard_settled_without_a_result_or_an_abort_also_ends_the_wait()
    {
        var batch = Lease(3);
        batch.Add(0, "a");
        var allIn = batch.AllResultsIn();
        batch.Add(1, "b");
        batch.Settled(failed: true); // shard 2 failed: nothing more will come
        Assert.True(allIn.IsCompleted);

        var other = Lease(3);
        other.Add(0, "a");
        var waiting = other.AllResultsIn();
        other.Abort();
        Assert.True(waiting.IsCompleted);
    }

    [Fact]
    public void A_lease_of_every_shard_completes_the_job_with_its_last_take()
    {
        var batch = Lease(2, total: 2);
        batch.Add(0, "a");
        Assert.False(batch.TakePending().CompletesJob);
        batch.Add(1, "b");
        Assert.True(batch.TakePending().CompletesJob);
        Assert.Equal(["a", "b"], batch.AllResults());
    }
}
