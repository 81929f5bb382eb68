using JobApi.Engine;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Tests.Results;

/// <summary>What a node keeps of jobs that ended within their submit there: taken by the first read, short-lived,
/// never longer than half the job's retention, and only short whole results.</summary>
public class RecentResultsTests
{
    private static RecentResults Recent(TimeSpan? retention = null) =>
        new(Microsoft.Extensions.Options.Options.Create(new JobApiOptions { Retention = retention ?? TimeSpan.FromDays(7) }));

    private static JobStatus Succeeded(string id) =>
        new(id, "noop", JobStates.Succeeded, new ShardCounts(1, 0, 0, 1, 0), 1, 1, DateTime.UtcNow, DateTime.UtcNow, DateTime.UtcNow, null);

    [Fact]
    public void An_entry_is_taken_by_its_first_read()
    {
        using var recent = Recent();
        var id = JobId.New();
        var result = new StoredResult("{\"shards\":1}", null, []);
        recent.Remember(Succeeded(id), result, null);
        var taken = recent.Take(id);
        Assert.NotNull(taken);
        Assert.Equal(id, taken.Value.Status.Id);
        Assert.Same(result, taken.Value.Result);
        Assert.Null(recent.Take(id));
        Assert.Null(recent.Take(JobId.New()));
    }

    [Fact]
    public void A_forgotten_entry_is_gone()
    {
        using var recent = Recent();
        var id = JobId.New();
        recent.Remember(Succeeded(id), new StoredResult("{}", null, []), null);
        recent.Forget(id);
        Assert.False(recent.Holds(id));
        Assert.Null(recent.Take(id));
    }

    [Fact]
    public void Paged_and_long_results_are_not_kept()
    {
        using var recent = Recent();
        var (paged, longer, longest) = (JobId.New(), JobId.New(), JobId.New());
        recent.Remember(Succeeded(paged), new StoredResult("{}", 2, [(RedisValue)"1", (RedisValue)"2"]), null);
        recent.Remember(Succeeded(longer), new StoredResult(new string('1', RecentResults.MaxEntryChars), null, []), null);
        recent.Remember(Succeeded(longest), new StoredResult(new string('1', RecentResults.MaxEntryChars + 1), null, []), null);
        Assert.False(recent.Holds(paged));
        Assert.True(recent.Holds(longer));
        Assert.False(recent.Holds(longest));
    }

    [Fact]
    public async Task An_entry_lives_at_most_half_the_jobs_retention_and_never_more_than_two_seconds()
    {
        using var recent = Recent(TimeSpan.FromSeconds(2)); // the service's retention: entries live 1 s
        using var longLived = Recent(TimeSpan.FromDays(7)); // entries live the cap, 2 s
        var (byService, byJob, byCap) = (JobId.New(), JobId.New(), JobId.New());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        recent.Remember(Succeeded(byService), new StoredResult("{}", null, []), null);
        recent.Remember(Succeeded(byJob), new StoredResult("{}", null, []), retainMs: 100); // its own retention: 50 ms
        longLived.Remember(Succeeded(byCap), new StoredResult("{}", null, []), null);
        Assert.True(recent.Holds(byService) && recent.Holds(byJob) && longLived.Holds(byCap));
        await Task.Delay(300);
        Assert.False(recent.Holds(byJob));
        Assert.True(recent.Holds(byService) || clock.Elapsed >= TimeSpan.FromSeconds(1));
        Assert.True(await GoneAsync(recent, byService), "kept past its life");
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.99), TimeSpan.FromSeconds(30));
        Assert.True(longLived.Holds(byCap) || clock.Elapsed >= RecentResults.MaxLife);
        Assert.True(await GoneAsync(longLived, byCap), "kept past the cap");
        Assert.InRange(clock.Elapsed, RecentResults.MaxLife - TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(30));
    }

    private static async Task<bool> GoneAsync(RecentResults recent, string id)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(10))
            if (!recent.Holds(id)) return true;
        return false;
    }
}
