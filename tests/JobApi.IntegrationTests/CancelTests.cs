using JobApi.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace JobApi.IntegrationTests;

/// <summary>POST /v1/jobs/{id}/cancel: canceled at once, idempotent, no effect on a finished job.</summary>
[Collection(RedisCollection.Name)]
public sealed class CancelTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private async Task<string> StartLongJobAsync()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 2000 }, shards = 50 });
        await TestSupport.WaitUntilAsync(async () => (await Client.GetJsonAsync($"/v1/jobs/{job.Id()}")).State() == "running",
            "the long job runs");
        return job.Id();
    }

    private async Task<HttpResponseMessage> CancelAsync(string id) => await Client.PostAsync($"/v1/jobs/{id}/cancel", null);

    /// <summary>Whether this test's worker still holds any shard (or the merge) of the job.</summary>
    private bool WorkerHolds(string id) => Factory.Services.GetRequiredService<ShardWorker>().HeldLeases.Any(h => h.JobId == id);

    [Fact]
    public async Task Canceling_a_running_job_answers_202_with_state_canceled_at_once()
    {
        var id = await StartLongJobAsync();
        using var response = await CancelAsync(id);
        Assert.Equal(202, (int)response.StatusCode);
        var status = await response.ReadJsonAsync();
        Assert.Equal(id, status.Id());
        Assert.Equal("canceled", status.State());
        status.GetProperty("finishedAt").AssertUtc("finishedAt");
        Assert.Equal("canceled", (await Client.GetJsonAsync($"/v1/jobs/{id}")).State());
    }

    [Fact]
    public async Task A_canceled_job_stays_canceled_after_its_running_shards_stop()
    {
        var id = await StartLongJobAsync();
        (await CancelAsync(id)).Dispose();

        await TestSupport.WaitUntilAsync(() => Task.FromResult(!WorkerHolds(id)), "the worker lets go of the canceled job's shards",
            TimeSpan.FromSeconds(10));
        var status = await Client.GetJsonAsync($"/v1/jobs/{id}");
        Assert.Equal("canceled", status.State());
        Assert.True(status.GetProperty("shards").GetProperty("succeeded").GetInt32() < 50, $"a canceled job ran every shard: {status}");
        Assert.Empty(await KeysAsync($"{{{id}}}:result"));
    }

    [Fact]
    public async Task The_result_of_a_canceled_job_is_a_409_problem_with_state_canceled()
    {
        var id = await StartLongJobAsync();
        (await CancelAsync(id)).Dispose();
        using var response = await Client.GetAsync($"/v1/jobs/{id}/result");
        var problem = await response.AssertProblemAsync(409);
        Assert.Equal("canceled", problem.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Canceling_twice_is_idempotent()
    {
        var id = await StartLongJobAsync();
        using var first = await CancelAsync(id);
        using var second = await CancelAsync(id);
        Assert.Equal(202, (int)second.StatusCode);
        var a = await first.ReadJsonAsync();
        var b = await second.ReadJsonAsync();
        Assert.Equal("canceled", b.State());
        Assert.Equal(a.GetProperty("finishedAt").GetString(), b.GetProperty("finishedAt").GetString());
    }

    [Fact]
    public async Task Canceling_a_queued_job_before_any_worker_took_it_cancels_it()
    {
        // The worker runs 4 shards at once: with all 4 slots sleeping, the second job stays queued.
        var busy = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 10_000 }, shards = 4 });
        await TestSupport.WaitUntilAsync(async () =>
                (await Client.GetJsonAsync($"/v1/jobs/{busy.Id()}")).GetProperty("shards").GetProperty("running").GetInt32() == 4,
            "every worker slot is busy");
        var queued = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 3 });
        Assert.Equal("queued", (await Client.GetJsonAsync($"/v1/jobs/{queued.Id()}")).State());

        using var response = await CancelAsync(queued.Id());
        Assert.Equal(202, (int)response.StatusCode);
        Assert.Equal("canceled", (await response.ReadJsonAsync()).State());
        (await CancelAsync(busy.Id())).Dispose();
        await TestSupport.WaitUntilAsync(() => Task.FromResult(!WorkerHolds(busy.Id())), "the worker is free again", TimeSpan.FromSeconds(10));
        var status = await Client.GetJsonAsync($"/v1/jobs/{queued.Id()}");
        Assert.Equal("canceled", status.State());
        Assert.Equal(0, status.GetProperty("shards").GetProperty("succeeded").GetInt32());
        Assert.Equal(0L, status.GetProperty("attempts").GetInt64());
    }

    [Fact]
    public async Task Canceling_a_succeeded_job_leaves_it_succeeded_with_its_result()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 2 });
        var before = await Client.WaitForFinalAsync(job.Id());
        Assert.Equal("succeeded", before.State());

        using var response = await CancelAsync(job.Id());
        Assert.Equal(202, (int)response.StatusCode);
        var after = await response.ReadJsonAsync();
        Assert.Equal("succeeded", after.State());
        Assert.Equal(before.GetProperty("finishedAt").GetString(), after.GetProperty("finishedAt").GetString());
        Assert.Equal(2, (await Client.ResultAsync(job.Id())).GetProperty("shards").GetInt32());
    }

    [Fact]
    public async Task Canceling_a_failed_job_leaves_it_failed_and_its_result_is_a_409_with_the_error()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 1 }, shards = 1, maxAttempts = 1 });
        var before = await Client.WaitForFinalAsync(job.Id());
        Assert.Equal("failed", before.State());
        Assert.False(string.IsNullOrWhiteSpace(before.GetProperty("error").GetString()), $"a failed job without an error: {before}");

        using var response = await CancelAsync(job.Id());
        Assert.Equal(202, (int)response.StatusCode);
        Assert.Equal("failed", (await response.ReadJsonAsync()).State());

        using var result = await Client.GetAsync($"/v1/jobs/{job.Id()}/result");
        var problem = await result.AssertProblemAsync(409);
        Assert.Equal("failed", problem.GetProperty("state").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("error").GetString()), $"409 of a failed job without its error: {problem}");
    }
}
