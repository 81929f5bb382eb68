namespace JobApi.IntegrationTests;

/// <summary>DELETE /v1/jobs/{id} and retainSeconds.</summary>
[Collection(RedisCollection.Name)]
public sealed class DeleteTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private async Task<bool> AnyKeyOfAsync(string id) =>
        (await KeysAsync($"{{{id}}}*")).Count > 0
        || (await Redis.Redis.GetDatabase().SortedSetScoreAsync(Keys.JobIndex(Keys.PartitionOf(id)), id)) is not null
        || (await Redis.Redis.GetDatabase().SortedSetScoreAsync(Keys.Pending(Keys.PartitionOf(id)), id)) is not null;

    [Fact]
    public async Task Deleting_a_finished_job_removes_every_key_and_afterwards_it_is_404()
    {
        var key = Guid.NewGuid().ToString();
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 5, callbackUrl = (string?)null }, key);
        await Client.ResultAsync(job.Id());
        Assert.True(await AnyKeyOfAsync(job.Id()));
        Assert.NotEmpty(await KeysAsync("{idem:*}"));

        using (var response = await Client.DeleteAsync($"/v1/jobs/{job.Id()}")) Assert.Equal(204, (int)response.StatusCode);
        Assert.False(await AnyKeyOfAsync(job.Id()), string.Join(", ", await KeysAsync($"{{{job.Id()}}}*")));
        using (var response = await Client.GetAsync($"/v1/jobs/{job.Id()}")) await response.AssertProblemAsync(404);
        using (var response = await Client.DeleteAsync($"/v1/jobs/{job.Id()}")) await response.AssertProblemAsync(404);
        // The idempotency record went with it: the same key makes a new job.
        var again = await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 5, callbackUrl = (string?)null }, key);
        Assert.NotEqual(job.Id(), again.Id());
    }

    [Fact]
    public async Task Deleting_a_running_job_is_a_409_unless_cancel_is_set()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 3000 }, shards = 8 });
        await TestSupport.WaitUntilAsync(async () => (await Client.GetJsonAsync($"/v1/jobs/{job.Id()}")).State() == "running", "the job runs");
        using (var response = await Client.DeleteAsync($"/v1/jobs/{job.Id()}"))
            Assert.Equal("running", (await response.AssertProblemAsync(409)).GetProperty("state").GetString());

        using (var response = await Client.DeleteAsync($"/v1/jobs/{job.Id()}?cancel=true")) Assert.Equal(204, (int)response.StatusCode);
        using (var response = await Client.GetAsync($"/v1/jobs/{job.Id()}")) await response.AssertProblemAsync(404);
        // Workers that held its shards let go without writing anything back.
        await TestSupport.WaitUntilAsync(() => Task.FromResult(!Factory.Services.GetRequiredServiceHeld(job.Id())), "the worker lets go");
        Assert.False(await AnyKeyOfAsync(job.Id()), string.Join(", ", await KeysAsync($"{{{job.Id()}}}*")));
    }

    [Fact]
    public async Task Deleting_an_unknown_job_is_a_404()
    {
        using var response = await Client.DeleteAsync("/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV");
        await response.AssertProblemAsync(404);
    }

    [Fact]
    public async Task RetainSeconds_sets_how_long_the_finished_job_is_kept()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { }, retainSeconds = 30 });
        var plain = await Client.SubmitAsync(new { kind = "noop", input = new { } });
        await Client.ResultAsync(job.Id());
        await Client.ResultAsync(plain.Id());
        var db = Redis.Redis.GetDatabase();
        var ttl = await db.KeyTimeToLiveAsync($"{Factory.KeyPrefix}:{{{job.Id()}}}:job");
        Assert.True(ttl is { } t && t > TimeSpan.Zero && t <= TimeSpan.FromSeconds(30), $"TTL {ttl}");
        var plainTtl = await db.KeyTimeToLiveAsync($"{Factory.KeyPrefix}:{{{plain.Id()}}}:job");
        Assert.True(plainTtl > TimeSpan.FromDays(6), $"TTL {plainTtl}");
    }
}

internal static class HeldLeases
{
    public static bool GetRequiredServiceHeld(this IServiceProvider services, string jobId) =>
        Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<JobApi.Workers.ShardWorker>(services).HeldLeases.Any(h => h.JobId == jobId);
}
