using System.Text.Json;

namespace JobApi.IntegrationTests;

/// <summary>POST /v1/jobs/{id}/retry: a failed job's dead shards run again and the job can still succeed;
/// any other state is 409, an unknown job 404.</summary>
[Collection(RedisCollection.Name)]
public sealed class RetryTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private async Task<HttpResponseMessage> RetryAsync(string id) => await Client.PostAsync($"/v1/jobs/{id}/retry", null);

    [Fact]
    public async Task Retrying_a_failed_job_requeues_its_dead_shard_and_the_job_then_succeeds_with_the_exact_result()
    {
        // Every shard throws on its first 4 attempts; 3 are allowed, so one is dead-lettered and the job fails.
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { failTimes = 4 }, shards = 3, maxAttempts = 3 });
        var failed = await Client.WaitForFinalAsync(job.Id());
        Assert.Equal("failed", failed.State());
        var shards = (await Client.GetJsonAsync($"/v1/jobs/{job.Id()}/shards")).GetProperty("items").EnumerateArray().ToArray();
        var dead = shards.Where(s => s.State() == "failed").ToArray();
        Assert.NotEmpty(dead);
        Assert.All(dead, s => Assert.Equal(3, s.GetProperty("attempts").GetInt32()));

        using var response = await RetryAsync(job.Id());
        Assert.Equal(202, (int)response.StatusCode);
        Assert.Equal($"/v1/jobs/{job.Id()}", response.Headers.Location?.OriginalString);
        var status = await response.ReadJsonAsync();
        Assert.Equal("running", status.State());
        Assert.Equal(0, status.GetProperty("shards").GetProperty("failed").GetInt32());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("error").ValueKind);

        var result = await Client.ResultAsync(job.Id());
        Assert.Equal(3, result.GetProperty("shards").GetInt32());
        // Attempts go on from where they were: the dead shard ran its 4th (failing) and 5th (succeeding) attempt.
        var after = (await Client.GetJsonAsync($"/v1/jobs/{job.Id()}/shards")).GetProperty("items").EnumerateArray().ToArray();
        Assert.All(after, s => Assert.Equal("succeeded", s.State()));
        Assert.All(after, s => Assert.Equal(5, s.GetProperty("attempts").GetInt32()));
    }

    [Fact]
    public async Task Retrying_a_job_that_is_not_failed_is_409_with_its_state()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 2 });
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(job.Id())).State());
        using var response = await RetryAsync(job.Id());
        var problem = await response.AssertProblemAsync(409);
        Assert.Equal("urn:jobapi:problem:job-not-failed", problem.GetProperty("type").GetString());
        Assert.Equal("succeeded", problem.GetProperty("state").GetString());
        Assert.Equal("succeeded", (await Client.GetJsonAsync($"/v1/jobs/{job.Id()}")).State());
    }

    [Fact]
    public async Task Retrying_an_unknown_job_is_404()
    {
        using var response = await RetryAsync("01JZZZZZZZZZZZZZZZZZZZZZZZ");
        await response.AssertProblemAsync(404);
    }
}
