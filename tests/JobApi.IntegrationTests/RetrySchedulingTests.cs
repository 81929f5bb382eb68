using System.Text.Json;
using JobApi.Engine;
using Microsoft.Extensions.DependencyInjection;

namespace JobApi.IntegrationTests;

/// <summary>Retry meets scheduling: a retried job goes back into its own priority band, its timeoutSeconds counts
/// again from the retry, its callback is delivered again for the new outcome, and a drop from rotation that a worker
/// decided when it saw the job failed, landing after the retry, does not leave it stuck.</summary>
[Collection(RedisCollection.Name)]
public sealed class RetrySchedulingTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service, new Dictionary<string, string?>
{
    ["JobApi:Webhooks:AllowLoopback"] = "true",
    ["JobApi:Webhooks:RetryBackoff"] = "00:00:00.100",
})
{
    private async Task<JsonElement> RetryAsync(string id)
    {
        using var response = await Client.PostAsync($"/v1/jobs/{id}/retry", null);
        Assert.Equal(202, (int)response.StatusCode);
        return await response.ReadJsonAsync();
    }

    /// <summary>A job whose every shard fails its first attempt and is allowed one: it fails, and a retry succeeds.</summary>
    private async Task<string> FailedJobAsync(object extra, int sleepMs)
    {
        var body = new Dictionary<string, object>
        {
            ["kind"] = "noop", ["input"] = new { sleepMs, failTimes = 1 }, ["shards"] = 2, ["maxAttempts"] = 1,
        };
        foreach (var p in extra.GetType().GetProperties()) body[p.Name] = p.GetValue(extra)!;
        var job = await Client.SubmitAsync(body);
        var failed = await Client.WaitForFinalAsync(job.Id());
        Assert.Equal("failed", failed.State());
        Assert.Contains("planned failure", failed.GetProperty("error").GetString());
        return job.Id();
    }

    [Fact]
    public async Task A_retried_job_goes_back_into_the_rotation_of_its_own_priority_band()
    {
        var id = await FailedJobAsync(new { priority = 7 }, sleepMs: 1500);
        var status = await RetryAsync(id);
        Assert.Equal(7, status.GetProperty("priority").GetInt32());

        var db = Redis.Redis.GetDatabase();
        var keys = new RedisKeys(Factory.KeyPrefix); // one partition on a single Redis
        // The worker that saw the job fail drops it from rotation a few milliseconds later; landing after the retry, that
        // drop is followed by a put-back (ShardQueue.DropFromRotation), so the job may be out of rotation for a moment.
        await TestSupport.WaitUntilAsync(async () => await db.SortedSetScoreAsync(keys.ActiveBand(0, 7), id) is not null,
            "the retried job in the rotation of priority 7", TimeSpan.FromSeconds(10));
        Assert.True(await db.SortedSetScoreAsync(keys.Active(0), id) is null, "the retried job sits in the priority-0 rotation");
        Assert.Contains(7.0, (await db.SortedSetRangeByRankWithScoresAsync(keys.ActiveBands(0))).Select(e => e.Score));
        Assert.Equal(2, (await Client.ResultAsync(id)).GetProperty("shards").GetInt32());
    }

    [Fact]
    public async Task The_timeout_of_a_retried_job_counts_from_the_retry()
    {
        // Fails on its own (a dead shard) well inside its 4 s limit; the retry comes after the original 4 s have passed,
        // and its two 200 ms shards leave a wide margin inside the new 4 s even on a loaded machine.
        var id = await FailedJobAsync(new { timeoutSeconds = 4 }, sleepMs: 200);
        var started = (await Client.GetJsonAsync($"/v1/jobs/{id}")).GetProperty("startedAt").AssertUtc("startedAt");
        var wait = started + TimeSpan.FromSeconds(4.5) - DateTime.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait); // outlasts the first run's timeout
        await RetryAsync(id);
        Assert.Equal(2, (await Client.ResultAsync(id)).GetProperty("shards").GetInt32());
    }

    [Fact]
    public async Task A_retried_job_that_runs_past_its_timeout_again_fails_again_with_a_timeout_error()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 20000 }, shards = 1, timeoutSeconds = 1 });
        var first = await Client.WaitForFinalAsync(job.Id(), TimeSpan.FromSeconds(15));
        Assert.Contains("timed out", first.GetProperty("error").GetString());
        Assert.Equal("running", (await RetryAsync(job.Id())).State());

        var second = await Client.WaitForFinalAsync(job.Id(), TimeSpan.FromSeconds(15));
        Assert.Equal("failed", second.State());
        Assert.Contains("timed out", second.GetProperty("error").GetString());
        var gap = second.GetProperty("finishedAt").AssertUtc("finishedAt") - first.GetProperty("finishedAt").AssertUtc("finishedAt");
        Assert.True(gap >= TimeSpan.FromSeconds(1), $"the retried run failed {gap} after the first, before its own timeout");
    }

    [Fact]
    public async Task The_callback_of_a_retried_job_is_delivered_again_with_the_new_outcome()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var id = await FailedJobAsync(new { callbackUrl = receiver.Url }, sleepMs: 0);
        await TestSupport.WaitUntilAsync(async () =>
            (await Client.GetJsonAsync($"/v1/jobs/{id}")).GetProperty("webhook").GetProperty("state").GetString() == "delivered",
            "the failure is delivered");

        var retried = await RetryAsync(id);
        Assert.Equal("pending", retried.GetProperty("webhook").GetProperty("state").GetString());
        Assert.Equal(0, retried.GetProperty("webhook").GetProperty("attempts").GetInt32());
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(id)).State());
        await TestSupport.WaitUntilAsync(() => Task.FromResult(receiver.Received.Count == 2), "the new outcome is delivered");
        var states = receiver.Received.Select(r => JsonDocument.Parse(r.Body).RootElement.State()).ToArray();
        Assert.Equal(["failed", "succeeded"], states);
    }

    /// <summary>A failed job of 8 shards of 400 ms that each fail their first attempt: after a retry, the shards whose
    /// failure was never recorded (they were stopped, or never ran, when the first one failed the job) fail once more
    /// and wait out a backoff, so the job needs several leases after the retry.</summary>
    private async Task<string> FailedEightShardJobAsync()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 400, failTimes = 1 }, shards = 8, maxAttempts = 1 });
        Assert.Equal("failed", (await Client.WaitForFinalAsync(job.Id())).State());
        // The worker's own drop of the failed job has landed: the drops below are the only ones after the retry.
        await TestSupport.WaitUntilAsync(async () => await Redis.Redis.GetDatabase().SortedSetScoreAsync(Keys.Active(0), job.Id()) is null,
            "the failed job leaves the rotation");
        return job.Id();
    }

    private async Task AssertRetriedJobEndsAsync(string id)
    {
        var status = await Client.WaitForFinalAsync(id, TimeSpan.FromSeconds(30));
        Assert.True(status.State() == "succeeded", $"the retried job did not succeed: {status}");
        Assert.Equal(8, (await Client.ResultAsync(id)).GetProperty("shards").GetInt32());
        // Each shard committed once.
        Assert.Equal(8, (int)await Redis.Redis.GetDatabase().HashGetAsync(Keys.Job(id).Job, "commits"));
    }

    [Fact]
    public async Task A_drop_from_rotation_decided_before_a_retry_that_lands_after_it_leaves_the_job_running_to_its_end()
    {
        // A worker's lease found the job failed and the worker dropped it from rotation; the retry came in between
        // (its enter.lua found the job still in rotation and left it there) and the drop landed after it. Such a drop
        // used to take the job out of the rotation and the pending index for good: its queued shards were never
        // leased again, and no sweep could find it.
        var id = await FailedEightShardJobAsync();
        Assert.Equal("running", (await RetryAsync(id)).State());
        Factory.Services.GetRequiredService<ShardQueue>().DropFromRotation(id, mayReturn: true);
        await AssertRetriedJobEndsAsync(id);
    }

    [Fact]
    public async Task A_retried_job_out_of_rotation_is_put_back_by_the_sweep_when_the_drop_was_never_checked()
    {
        // What such a late drop writes when its worker dies before it reads the job's state again: the job leaves the
        // rotation, its pending entry stays. The sweep puts it back once no worker has seen it for a lease TTL.
        var id = await FailedEightShardJobAsync();
        Assert.Equal("running", (await RetryAsync(id)).State());
        var db = Redis.Redis.GetDatabase();
        await db.ScriptEvaluateAsync(LuaScripts.Drop, Keys.RotationKeys(0), [id]);
        Assert.True(await db.SortedSetScoreAsync(Keys.Pending(0), id) is not null, "the retried job is not in the pending index");
        await AssertRetriedJobEndsAsync(id);
    }

    [Fact]
    public async Task A_failed_job_keeps_its_pending_entry_until_the_sweep_finds_it_finished()
    {
        // Its drop from rotation leaves the entry (a retry may bring the job back before the drop lands); the sweep
        // forgets it, so the index of unfinished jobs does not grow with failed ones.
        var id = await FailedJobAsync(new { }, sleepMs: 0);
        var db = Redis.Redis.GetDatabase();
        await TestSupport.WaitUntilAsync(async () => await db.SortedSetScoreAsync(Keys.Active(0), id) is null, "the failed job leaves the rotation");
        Assert.True(await db.SortedSetScoreAsync(Keys.Pending(0), id) is not null, "the failed job left the pending index with the rotation");
        await TestSupport.WaitUntilAsync(async () => await db.SortedSetScoreAsync(Keys.Pending(0), id) is null,
            "the sweep forgets the failed job's pending entry");
    }
}
