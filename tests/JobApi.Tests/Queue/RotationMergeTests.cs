using JobApi.Engine;
using static JobApi.Engine.ShardQueue;

namespace JobApi.Tests.Queue;

/// <summary>How one round's answers of several partitions are merged (<see cref="ShardQueue.Merge"/>).</summary>
public sealed class RotationMergeTests
{
    [Fact]
    public void With_one_partition_the_round_is_rotate_luas_own_order()
    {
        // A fairness round: the lower band leads.
        RotatedJob[] one = [new("low", -5, 0, 0), new("high1", 8, 1, 0), new("high2", 8, 2, 0)];
        Assert.Equal(["low", "high1", "high2"], Merge(one, 3));
    }

    [Fact]
    public void Higher_bands_fill_the_round_before_lower_ones_across_partitions()
    {
        RotatedJob[] rotated =
        [
            new("a-high", 8, 0, 0), new("a-high2", 8, 1, 0), new("a-low", 0, 2, 0),
            new("b-mid", 3, 0, 1), new("b-low", 0, 1, 1), new("b-low2", 0, 2, 1),
        ];
        // Leaders first (highest band first among them), then the second places; the low job nearer the
        // front of its partition's answer wins the last slot.
        Assert.Equal(["a-high", "b-mid", "a-high2", "b-low"], Merge(rotated, 4));
    }

    [Fact]
    public void Every_visited_partitions_first_job_is_kept_even_when_higher_bands_could_fill_the_round()
    {
        RotatedJob[] rotated =
        [
            new("a1", 9, 0, 0), new("a2", 9, 1, 0),
            new("b1", -3, 0, 1),
            new("c1", 9, 0, 2), new("c2", 9, 1, 2),
        ];
        var round = Merge(rotated, 4);
        Assert.Contains("b1", round);
        Assert.Equal(4, round.Length);
        Assert.Equal(round.Length, round.Distinct().Count());
    }

    [Fact]
    public void An_empty_round_is_empty()
    {
        Assert.Empty(Merge([], 8));
    }
}
