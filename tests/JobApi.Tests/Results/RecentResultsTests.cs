using JobApi.Engine;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Tests.Results;

/// <summary>What a node keeps of jobs submitted there: the result of one that ended within its submit, or of one
/// expected there whose final event brought it; taken by the first read, short-lived, never longer than half the job's
/// retention (counted from the submit), and only short whole results.</summary>
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

    private static JobStatus Queued(string id) =>
        new(id, "noop", JobStates.Queued, new ShardCounts(2, 2, 0, 0, 0), 0, 0, DateTime.UtcNow, null, null, null);

    [Fact]
    public void An_expected_job_is_kept_when_its_final_event_brings_its_result()
    {
        using var recent = Recent();
        var id = JobId.New();
        recent.Expect(Queued(id), null);
        Assert.True(recent.Expects(id));
        Assert.False(recent.Holds(id));
        recent.Ended(id, "{\"shards\":2}");
        Assert.True(recent.Holds(id));
        var taken = recent.Take(id);
        Assert.NotNull(taken);
        Assert.Equal((id, "noop", JobStates.Succeeded), (taken.Value.Status.Id, taken.Value.Status.Kind, taken.Value.Status.State));
        Assert.Equal("{\"shards\":2}", taken.Value.Result!.Json);
        Assert.Null(taken.Value.Result.Total);
        Assert.Null(recent.Take(id));
    }

    [Fact]
    public void Results_of_jobs_not_expected_here_and_results_too_long_are_not_kept()
    {
        using var recent = Recent();
        var (elsewhere, longer) = (JobId.New(), JobId.New());
        recent.Ended(elsewhere, "{}");
        Assert.False(recent.Holds(elsewhere));
        Assert.False(recent.Expects(elsewhere));
        recent.Expect(Queued(longer), null);
        recent.Ended(longer, new string('1', RecentResults.MaxEntryChars + 1));
        Assert.False(recent.Holds(longer));
        Assert.False(recent.Expects(longer)); // ended: its read goes to Redis at once
        Assert.Null(recent.Take(longer));
    }

    [Fact]
    public void A_job_that_ended_without_a_result_in_its_event_is_no_longer_expected()
    {
        using var recent = Recent();
        var (failed, kept) = (JobId.New(), JobId.New());
        recent.Expect(Queued(failed), null);
        recent.Ended(failed, null);
        Assert.False(recent.Expects(failed));
        Assert.Null(recent.Take(failed));

        recent.Expect(Queued(kept), null);
        recent.Ended(kept, "{}");
        recent.Ended(kept, null); // a later end without a result (a retry that failed) leaves the kept result alone
        Assert.True(recent.Holds(kept));
    }

    [Fact]
    public void A_job_whose_end_came_before_its_submit_was_handled_is_not_expected_so_its_read_does_not_wait_for_that_end()
    {
        using var recent = Recent();
        var (early, earlyWithout, late) = (JobId.New(), JobId.New(), JobId.New());
        recent.Ended(early, "{}");
        recent.Ended(earlyWithout, null);
        recent.Expect(Queued(early), null);
        recent.Expect(Queued(earlyWithout), null);
        Assert.False(recent.Expects(early));
        Assert.False(recent.Expects(earlyWithout));
        Assert.Null(recent.Take(early));

        // Only the last ends are noted: an id whose end is older than that is expected again (ids are never reused).
        for (var i = 0; i < RecentResults.EndsNoted; i++) recent.Ended(JobId.New(), null);
        recent.Expect(Queued(early), null);
        Assert.True(recent.Expects(early));
        recent.Expect(Queued(late), null);
        Assert.True(recent.Expects(late));
    }

    [Fact]
    public void A_read_that_finds_the_job_still_expected_takes_the_expectation_and_a_deleted_job_is_no_longer_expected()
    {
        using var recent = Recent();
        var (read, deleted) = (JobId.New(), JobId.New());
        recent.Expect(Queued(read), null);
        var open = recent.Take(read); // that read waits for the job's end itself
        Assert.Equal((read, JobStates.Queued), (open?.Status.Id, open?.Status.State));
        Assert.Null(open?.Result);
        Assert.False(recent.Expects(read));
        recent.Ended(read, "{}");
        Assert.False(recent.Holds(read));

        recent.Expect(Queued(deleted), null);
        recent.Forget(deleted);
        recent.Ended(deleted, "{}");
        Assert.False(recent.Holds(deleted));
    }

    [Fact]
    public async Task An_expected_jobs_life_counts_from_its_submit()
    {
        using var recent = Recent();
        var id = JobId.New();
        recent.Expect(Queued(id), retainMs: 100); // its own retention: 50 ms from now
        Assert.True(recent.Expects(id));
        await Task.Delay(300);
        recent.Ended(id, "{}");
        Assert.False(recent.Holds(id));
        Assert.False(recent.Expects(id));
    }

    private static async Task<bool> GoneAsync(RecentResults recent, string id)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(10))
            if (!recent.Holds(id)) return true;
        return false;
    }
}
