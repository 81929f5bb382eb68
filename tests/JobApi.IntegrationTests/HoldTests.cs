using System.Text.Json;
using JobApi.Engine;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace JobApi.IntegrationTests;

/// <summary>
/// The first lease of a one-shard job is a hold: the lease kept in the job hash (fence, token, deadline, worker)
/// instead of a lease key, a running deadline, a batch record and an inflight entry. Every path a lease can take is
/// driven here by hand on an API-only node (no worker, no sweep): the commit that finishes the job, a holder that
/// stops renewing (reaped, its late commit, renewal and failure refused), renewal, release, failure and cancel.
/// Counts of committed effects come from the job hash, not from the calls.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class HoldTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, new Dictionary<string, string?>
    {
        ["JobApi:Roles"] = "Api",
        ["JobApi:Worker:LeaseTtl"] = "00:00:00.500",
        ["JobApi:Worker:RetryBackoff"] = "00:00:00",
    })
{
    private ShardQueue Queue => Factory.Services.GetRequiredService<ShardQueue>();
    private IDatabase Db => Redis.Redis.GetDatabase();

    private async Task<(string Id, LeaseGrant Grant)> HeldJobAsync(string worker = "worker-a", string token = "token-a")
    {
        var id = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 1 })).Id();
        var grant = (await Queue.LeaseAsync([id], [4], worker, token)).Single();
        Assert.Equal(LeaseKind.Shards, grant.Kind);
        Assert.Equal(1, grant.Fence);
        Assert.Equal(0, Assert.Single(grant.Shards!).Index);
        return (id, grant);
    }

    private async Task<string?> HoldAsync(string id) => await Db.HashGetAsync(Keys.Job(id).Job, "hold");

    private Task<(CommitOutcome Outcome, int Refused)> CommitAsync(string id, LeaseGrant grant, string token, string? merged = "{\"shards\":1}") =>
        Queue.CommitAsync(id, grant.Fence, grant.StartedAt, token, "worker-a", [(0, "{}")], merged);

    private async Task<JsonElement> ShardAsync(string id) =>
        (await Client.GetJsonAsync($"/v1/jobs/{id}/shards")).GetProperty("items").EnumerateArray().Single();

    [Fact]
    public async Task A_held_one_shard_job_is_running_without_lease_keys_and_its_commit_ends_it_with_nothing_left_behind()
    {
        var (id, grant) = await HeldJobAsync();
        var job = Keys.Job(id);
        Assert.Equal("1", await HoldAsync(id));
        foreach (var key in new[] { job.Lease(1), job.Running, job.Batches, job.Inflight, job.Ready })
            Assert.False(await Db.KeyExistsAsync(key), $"{key} exists under a hold");

        var status = await Client.GetJsonAsync($"/v1/jobs/{id}");
        Assert.Equal("running", status.State());
        Assert.Equal(1, status.GetProperty("shards").GetProperty("running").GetInt32());
        var shard = await ShardAsync(id);
        Assert.Equal("running", shard.GetProperty("state").GetString());
        Assert.Equal("worker-a", shard.GetProperty("worker").GetString());

        Assert.Equal(CommitOutcome.Finished, (await CommitAsync(id, grant, "token-a")).Outcome);
        // A second commit of the same shard is refused: the job is final.
        Assert.Equal(CommitOutcome.JobFinished, (await CommitAsync(id, grant, "token-a")).Outcome);

        status = await Client.GetJsonAsync($"/v1/jobs/{id}");
        Assert.Equal("succeeded", status.State());
        Assert.Equal(0, status.GetProperty("shards").GetProperty("running").GetInt32());
        Assert.Equal(1, status.GetProperty("shards").GetProperty("succeeded").GetInt32());
        // The shard's record is the hold's worker and start and the job's end (a job that ends under its hold keeps no
        // done record).
        shard = await ShardAsync(id);
        Assert.Equal("succeeded", shard.GetProperty("state").GetString());
        Assert.Equal("worker-a", shard.GetProperty("worker").GetString());
        Assert.Equal(1, shard.GetProperty("attempts").GetInt32());
        Assert.Equal(status.GetProperty("startedAt").GetDateTime(), shard.GetProperty("startedAt").GetDateTime());
        Assert.Equal(status.GetProperty("finishedAt").GetDateTime(), shard.GetProperty("finishedAt").GetDateTime());
        Assert.Equal(1, (int)await Db.HashGetAsync(job.Job, "commits"));
        Assert.Equal("", await HoldAsync(id));
        var left = (await KeysAsync($"*{id}*")).Select(k => k[(k.LastIndexOf(':') + 1)..]).Order().ToArray();
        // Its short result is in the job hash: the job is the one key left, and the result reads as any other.
        Assert.Equal(["job"], left);
        Assert.Equal("{\"shards\":1}", (string?)await Db.HashGetAsync(job.Job, "result"));
        Assert.Equal(1, (await Client.GetJsonAsync($"/v1/jobs/{id}/result")).GetProperty("result").GetProperty("shards").GetInt32());
    }

    [Fact]
    public async Task A_holder_that_stops_renewing_is_reaped_and_its_late_commit_renewal_and_failure_are_refused()
    {
        var (id, grant) = await HeldJobAsync();
        // Before the deadline another worker's visit leaves the hold alone.
        Assert.Equal(LeaseKind.Idle, (await Queue.LeaseAsync([id], [4], "worker-b", "token-b")).Single().Kind);
        Assert.Equal("1", await HoldAsync(id));

        await Task.Delay(700); // past the 500 ms deadline, never renewed
        var next = (await Queue.LeaseAsync([id], [4], "worker-b", "token-b")).Single();
        // The reap counted a failed attempt; with no backoff the retry is due at once and goes to worker-b under a
        // lease of the usual form.
        Assert.Equal(LeaseKind.Shards, next.Kind);
        Assert.Equal(2, next.Fence);
        Assert.Equal(2, Assert.Single(next.Shards!).Attempt);
        Assert.Equal("", await HoldAsync(id));
        Assert.Equal("2", (string?)await Db.HashGetAsync(Keys.Job(id).Inflight, "0"));
        Assert.Contains("lease expired: worker worker-a", (string?)await Db.HashGetAsync(Keys.Job(id).Failures, "0"));

        // The first holder comes back: nothing it does counts.
        Assert.Equal(CommitOutcome.Stale, (await CommitAsync(id, grant, "token-a")).Outcome);
        Assert.Equal(new long[] { 1 }, await Queue.RenewAsync(id, "token-a", [1], merge: false));
        Assert.Equal("stale", await Queue.FailAsync(id, 1, "token-a", 0, "late failure"));
        Assert.Equal(0, await Queue.ReleaseAsync(id, 1, "token-a", [0]));

        Assert.Equal(CommitOutcome.Finished, (await CommitAsync(id, next, "token-b")).Outcome);
        var status = await Client.GetJsonAsync($"/v1/jobs/{id}");
        Assert.Equal("succeeded", status.State());
        Assert.Equal(1, (int)await Db.HashGetAsync(Keys.Job(id).Job, "commits"));
        Assert.Equal(2, status.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task A_hold_past_its_deadline_is_not_renewed_back_to_life_by_its_holder()
    {
        var (id, _) = await HeldJobAsync();
        await Task.Delay(700); // past the 500 ms deadline, not reaped yet: as a lease key past its TTL, it is gone
        var deadline = (long)await Db.HashGetAsync(Keys.Job(id).Job, "holdUntil");
        Assert.Equal(new long[] { 1 }, await Queue.RenewAsync(id, "token-a", [1], merge: false));
        Assert.Equal(deadline, (long)await Db.HashGetAsync(Keys.Job(id).Job, "holdUntil"));
        // The next visit reaps it: a failed attempt, and the retry goes out under a lease of the usual form.
        var next = (await Queue.LeaseAsync([id], [4], "worker-b", "token-b")).Single();
        Assert.Equal(LeaseKind.Shards, next.Kind);
        Assert.Equal(2, Assert.Single(next.Shards!).Attempt);
        Assert.Equal("", await HoldAsync(id));
    }

    [Fact]
    public async Task Renewal_moves_the_hold_deadline_and_only_its_holder_renews()
    {
        // Renewals 125 ms apart keep a 500 ms hold through a second. A renewal that comes later than the hold's
        // deadline (the machine stalled) rightly finds it lost: the scenario is then run again with a new job.
        var (id, grant) = await RenewedForASecondAsync() ?? await RenewedForASecondAsync() ?? await RenewedForASecondAsync()
            ?? throw new Xunit.Sdk.XunitException("three runs in a row stalled past the hold's deadline");
        // A second above the first deadline: the renewals kept it, so a visit finds nothing to reap.
        Assert.Equal(LeaseKind.Idle, (await Queue.LeaseAsync([id], [4], "worker-b", "token-b")).Single().Kind);
        Assert.Equal("1", await HoldAsync(id));
        Assert.Equal(new long[] { 1 }, await Queue.RenewAsync(id, "token-b", [1], merge: false));
        Assert.Equal(CommitOutcome.Finished, (await CommitAsync(id, grant, "token-a")).Outcome);
        // After the end the holder's renewal reports the lease lost, so its work stops.
        Assert.Equal(new long[] { 1 }, await Queue.RenewAsync(id, "token-a", [1], merge: false));
    }

    /// <summary>A held job renewed by its holder every 125 ms for a second; null when a renewal came after the deadline.</summary>
    private async Task<(string Id, LeaseGrant Grant)?> RenewedForASecondAsync()
    {
        var (id, grant) = await HeldJobAsync();
        var since = System.Diagnostics.Stopwatch.StartNew(); // since the hold was taken or last renewed
        for (var i = 0; i < 8; i++)
        {
            await Task.Delay(125);
            var lost = await Queue.RenewAsync(id, "token-a", [1], merge: false);
            if (since.Elapsed >= TimeSpan.FromMilliseconds(400)) return null; // too late to tell: the deadline may have passed
            Assert.Empty(lost);
            since.Restart();
        }
        return (id, grant);
    }

    [Fact]
    public async Task A_released_hold_gives_the_shard_back_without_counting_an_attempt()
    {
        var (id, grant) = await HeldJobAsync();
        Assert.Equal(0, await Queue.ReleaseAsync(id, 1, "token-b", [0]));
        Assert.Equal(1, await Queue.ReleaseAsync(id, 1, "token-a", [0]));
        Assert.Equal("", await HoldAsync(id));
        Assert.Equal(CommitOutcome.Stale, (await CommitAsync(id, grant, "token-a")).Outcome);
        var status = await Client.GetJsonAsync($"/v1/jobs/{id}");
        Assert.Equal(0, status.GetProperty("shards").GetProperty("running").GetInt32());
        Assert.Equal(1, status.GetProperty("shards").GetProperty("queued").GetInt32());
        Assert.Equal("queued", (await ShardAsync(id)).GetProperty("state").GetString());

        var next = (await Queue.LeaseAsync([id], [4], "worker-b", "token-b")).Single();
        Assert.Equal(2, next.Fence);
        Assert.Equal(1, Assert.Single(next.Shards!).Attempt);
        Assert.Equal(CommitOutcome.Finished, (await CommitAsync(id, next, "token-b")).Outcome);
        Assert.Equal(1, (await Client.GetJsonAsync($"/v1/jobs/{id}")).GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task A_failed_attempt_under_a_hold_is_retried_and_a_last_one_fails_the_job()
    {
        var id = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 1, maxAttempts = 2 })).Id();
        var grant = (await Queue.LeaseAsync([id], [4], "worker-a", "token-a")).Single();
        Assert.Equal("1", await HoldAsync(id));
        Assert.Equal("stale", await Queue.FailAsync(id, 1, "token-b", 0, "not the holder"));
        Assert.Equal("retry", await Queue.FailAsync(id, 1, "token-a", 0, "boom"));
        Assert.Equal("", await HoldAsync(id));
        Assert.Equal(CommitOutcome.Stale, (await CommitAsync(id, grant, "token-a")).Outcome);

        var next = (await Queue.LeaseAsync([id], [4], "worker-b", "token-b")).Single();
        Assert.Equal(2, next.Fence);
        Assert.Equal(2, Assert.Single(next.Shards!).Attempt);
        Assert.Equal("dead", await Queue.FailAsync(id, 2, "token-b", 0, "boom again"));
        var status = await Client.GetJsonAsync($"/v1/jobs/{id}");
        Assert.Equal("failed", status.State());
        Assert.Equal(0, status.GetProperty("shards").GetProperty("running").GetInt32());
        Assert.Equal(0, (int)await Db.HashGetAsync(Keys.Job(id).Job, "commits"));
    }

    [Fact]
    public async Task A_job_canceled_under_its_hold_shows_nothing_running_and_refuses_the_holder()
    {
        var (id, grant) = await HeldJobAsync();
        Assert.True((await Client.PostAsync($"/v1/jobs/{id}/cancel", null)).IsSuccessStatusCode);
        var status = await Client.GetJsonAsync($"/v1/jobs/{id}");
        Assert.Equal("canceled", status.State());
        Assert.Equal(0, status.GetProperty("shards").GetProperty("running").GetInt32());
        Assert.Equal("", await HoldAsync(id));
        Assert.Equal(CommitOutcome.JobFinished, (await CommitAsync(id, grant, "token-a")).Outcome);
        Assert.Equal(new long[] { 1 }, await Queue.RenewAsync(id, "token-a", [1], merge: false));
        Assert.Equal(0, (int)await Db.HashGetAsync(Keys.Job(id).Job, "commits"));
    }
}
