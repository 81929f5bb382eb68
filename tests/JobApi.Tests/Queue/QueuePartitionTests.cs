using JobApi.Engine;

namespace JobApi.Tests.Queue;

public sealed class QueuePartitionTests
{
    [Fact]
    public void A_job_always_maps_to_the_same_partition_within_range()
    {
        var keys = new RedisKeys("p", 16);
        for (var i = 0; i < 1_000; i++)
        {
            var id = JobId.New();
            var partition = keys.PartitionOf(id);
            Assert.InRange(partition, 0, 15);
            Assert.Equal(partition, new RedisKeys("other", 16).PartitionOf(id));
        }
    }

    [Fact]
    public void Jobs_created_in_the_same_millisecond_spread_over_every_partition()
    {
        var keys = new RedisKeys("p", 16);
        var now = DateTimeOffset.UtcNow;
        var counts = new int[16];
        for (var i = 0; i < 16_000; i++) counts[keys.PartitionOf(JobId.New(now))]++;
        // 1,000 expected per partition; a fair hash stays well within ±25 %.
        Assert.All(counts, c => Assert.InRange(c, 750, 1_250));
    }

    [Fact]
    public void With_one_partition_every_job_is_in_partition_zero()
    {
        var keys = new RedisKeys("p");
        Assert.Equal(0, keys.PartitionOf(JobId.New()));
    }

    [Fact]
    public void Each_partition_key_has_a_hash_tag_of_its_own()
    {
        var keys = new RedisKeys("jobapi", 4);
        var all = Enumerable.Range(0, 4).SelectMany(p => new[] { keys.Active(p), keys.JobIndex(p), keys.Pending(p) }).Select(k => k.ToString()).ToList();
        Assert.Equal("jobapi:{active:3}", keys.Active(3).ToString());
        var tags = all.Select(k => k[(k.IndexOf('{') + 1)..k.IndexOf('}')]).ToList();
        Assert.Equal(tags.Count, tags.Distinct().Count());
    }
}
