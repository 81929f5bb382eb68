using System.Text.Json;
using JobApi.Engine;

namespace JobApi.IntegrationTests;

/// <summary>Retry meets scheduling: a retried job goes back into its own priority band, its timeoutSeconds counts
/// again from the retry, and its callback is delivered again for the new outcome.</summary>
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
        Assert.True(await db.SortedSetScoreAsync(keys.ActiveBand(0, 7), id) is not null, "the retried job is not in the rotation of priority 7");
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
}
