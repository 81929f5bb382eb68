namespace JobApi.IntegrationTests;

/// <summary>timeoutSeconds: counted from the job's start; over it the job fails with a timeout error.</summary>
[Collection(RedisCollection.Name)]
public sealed class TimeoutTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task A_job_running_past_its_timeoutSeconds_fails_with_a_timeout_error()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 20000 }, shards = 2, timeoutSeconds = 1 });
        var final = await Client.WaitForFinalAsync(job.Id(), TimeSpan.FromSeconds(15));
        Assert.Equal("failed", final.State());
        Assert.Contains("timed out", final.GetProperty("error").GetString());
        var ran = final.GetProperty("finishedAt").AssertUtc("finishedAt") - final.GetProperty("startedAt").AssertUtc("startedAt");
        Assert.True(ran >= TimeSpan.FromSeconds(1), $"failed after {ran}, before its timeout");
        using var result = await Client.GetAsync($"/v1/jobs/{job.Id()}/result");
        Assert.Equal("failed", (await result.AssertProblemAsync(409)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task The_timeout_counts_from_the_start_not_from_the_submit()
    {
        // Waits 1 s for its delay, then runs well inside its 1 s limit.
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 50 }, delaySeconds = 1, timeoutSeconds = 1 });
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(job.Id())).State());
    }

    [Fact]
    public async Task A_timeout_out_of_range_is_a_400_naming_timeoutSeconds()
    {
        using var response = await PostJobJsonAsync("""{"kind":"noop","input":{},"timeoutSeconds":0}""");
        (await response.AssertProblemAsync(400)).AssertNamesField("timeoutSeconds");
    }
}

/// <summary>JobApi:Worker:ShardTimeout: the worker cancels an attempt that runs too long; it counts as failed.</summary>
[Collection(RedisCollection.Name)]
public sealed class ShardTimeoutTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, new Dictionary<string, string?> { ["JobApi:Worker:ShardTimeout"] = "00:00:00.300" })
{
    [Fact]
    public async Task A_shard_over_the_shard_timeout_is_canceled_and_counts_as_a_failed_attempt()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 20000 }, shards = 1, maxAttempts = 2 });
        var final = await Client.WaitForFinalAsync(job.Id(), TimeSpan.FromSeconds(15));
        Assert.Equal("failed", final.State());
        Assert.Contains("ShardTimeout", final.GetProperty("error").GetString());
        var shard = (await Client.GetJsonAsync($"/v1/jobs/{job.Id()}/shards")).GetProperty("items")[0];
        Assert.Equal(2, shard.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task Shards_inside_the_shard_timeout_succeed()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 10 }, shards = 4 });
        Assert.Equal(4, (await Client.ResultAsync(job.Id())).GetProperty("shards").GetInt32());
    }
}
