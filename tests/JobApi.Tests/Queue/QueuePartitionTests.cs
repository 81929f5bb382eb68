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
        var all = Enumerable.Range(0, 4)
            .SelectMany(p => new[] { keys.Active(p), keys.JobIndex(p), keys.Pending(p), keys.Due(p), keys.Timeouts(p), keys.Webhooks(p) })
            .Select(k => k.ToString()).ToList();
        Assert.Equal("jobapi:{rotation:3}", keys.Active(3).ToString());
        var tags = all.Select(Tag).ToList();
        Assert.Equal(tags.Count, tags.Distinct().Count());
    }

    [Fact]
    public void Every_priority_band_key_of_a_partition_is_in_that_partitions_slot()
    {
        var keys = new RedisKeys("jobapi", 4);
        for (var p = 0; p < 4; p++)
        {
            var tag = Tag(keys.Active(p).ToString());
            Assert.Equal(keys.Active(p), keys.ActiveBand(p, 0));
            foreach (var key in new[] { keys.ActiveBand(p, 7), keys.ActiveBand(p, -1000), keys.ActiveBands(p), keys.ActiveRound(p), keys.ActiveSequence(p) })
                Assert.Equal(tag, Tag(key.ToString()));
            // rotate.lua and drop.lua spell a band's rotation as KEYS[1] .. ':p' .. priority.
            Assert.Equal(keys.Active(p).ToString() + ":p7", keys.ActiveBand(p, 7).ToString());
        }
    }

    private static string Tag(string key) => key[(key.IndexOf('{') + 1)..key.IndexOf('}')];
}
