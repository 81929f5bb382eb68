namespace JobApi.IntegrationTests.Security;

/// <summary>POST /v1/jobs/{id}/retry counts the job again in its tenant's quotas, as a new submit does: over a cap the
/// retry is a 429 that changes nothing; once counted, the job holds its requeued shards and one running job until it
/// ends, and then the room comes back.</summary>
[Collection(RedisCollection.Name)]
public sealed class RetryQuotaTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, Tenancy.Settings(new()
    {
        ["JobApi:Limits:MaxRunningJobsPerTenant"] = "1",
        ["JobApi:Limits:MaxQueuedShardsPerTenant"] = "100",
    }))
{
    private static async Task<HttpResponseMessage> SubmitRawAsync(HttpClient client, string json) =>
        await client.PostJobBytesAsync(System.Text.Encoding.UTF8.GetBytes(json), "application/json");

    [Fact]
    public async Task A_retried_job_is_counted_again_like_a_new_submit_and_released_when_it_ends()
    {
        using var client = Factory.ClientWithKey(Tenancy.Token("retrier"), asBearer: true);
        var usage = Keys.Tenant("retrier").Usage;
        var db = Redis.Redis.GetDatabase();
        // Both shards fail on every attempt they get (1 at first, 1 more per retry).
        var failing = (await client.SubmitAsync(new { kind = "noop", input = new { failTimes = 20 }, shards = 2, maxAttempts = 1 })).Id();
        Assert.Equal("failed", (await client.WaitForFinalAsync(failing)).State());

        // A long job takes the tenant's only running-job slot (once the failed job's count is settled).
        string? blocker = null;
        await TestSupport.WaitUntilAsync(async () =>
        {
            using var response = await SubmitRawAsync(client, """{ "kind": "noop", "input": { "sleepMs": 60000 }, "shards": 1 }""");
            if ((int)response.StatusCode == 202) blocker = (await response.ReadJsonAsync()).Id();
            return blocker is not null;
        }, "the long job fits once the failed one is released", TimeSpan.FromSeconds(20));
        var before = await db.HashGetAllAsync(usage);

        // Over the cap: 429 naming it, and the job stays failed with the counters unchanged.
        using (var refused = await client.PostAsync($"/v1/jobs/{failing}/retry", null))
        {
            var problem = await refused.AssertProblemAsync(429);
            Assert.Equal("urn:jobapi:problem:quota-exceeded", problem.GetProperty("type").GetString());
            Assert.Equal("JobApi:Limits:MaxRunningJobsPerTenant", problem.GetProperty("limit").GetString());
            Assert.True(refused.Headers.RetryAfter is not null);
        }
        Assert.Equal("failed", (await client.GetJsonAsync($"/v1/jobs/{failing}")).State());
        Assert.Equal(before.OrderBy(e => (string)e.Name!), (await db.HashGetAllAsync(usage)).OrderBy(e => (string)e.Name!));

        // Once the long job is canceled, the retry fits and counts the job and its 2 requeued shards.
        Assert.Equal(202, (int)(await client.PostAsync($"/v1/jobs/{blocker}/cancel", null)).StatusCode);
        await TestSupport.WaitUntilAsync(async () =>
        {
            using var response = await client.PostAsync($"/v1/jobs/{failing}/retry", null);
            return (int)response.StatusCode == 202;
        }, "the retry fits once the long job is canceled", TimeSpan.FromSeconds(20));
        Assert.Equal(1, (long)await db.HashGetAsync(usage, "jobs"));
        Assert.Equal(2, (long)await db.HashGetAsync(usage, "shards"));
        Assert.True(await db.HashExistsAsync(Keys.Tenant("retrier").Open, failing));

        // It fails again (its shards fail on every attempt); its count is then released and a new job fits.
        Assert.Equal("failed", (await client.WaitForFinalAsync(failing)).State());
        await TestSupport.WaitUntilAsync(async () =>
        {
            using var response = await SubmitRawAsync(client, """{ "kind": "noop", "input": {}, "shards": 1 }""");
            return (int)response.StatusCode == 202;
        }, "a new job fits once the retried job has ended", TimeSpan.FromSeconds(20));
        Assert.False(await db.HashExistsAsync(Keys.Tenant("retrier").Open, failing));
    }
}
