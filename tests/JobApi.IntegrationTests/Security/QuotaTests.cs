using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;

namespace JobApi.IntegrationTests.Security;

/// <summary>Per-tenant caps on unfinished jobs, their shards and the bytes they hold: over a cap a submit is a
/// 429 problem naming the setting, creates nothing, and leaves other tenants alone; once jobs end, room
/// comes back; a schedule's ticks count toward its tenant's caps. An API-only node (no worker) keeps submitted jobs
/// queued, so the counts are exact.</summary>
[Collection(RedisCollection.Name)]
public sealed class QuotaTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, Tenancy.Settings(new()
    {
        ["JobApi:Roles"] = "Api",
        ["JobApi:Limits:MaxRunningJobsPerTenant"] = "3",
        ["JobApi:Limits:MaxQueuedShardsPerTenant"] = "50",
        ["JobApi:Limits:MaxStoredBytesPerTenant"] = "20000",
    }))
{
    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string json) =>
        await client.PostJobBytesAsync(System.Text.Encoding.UTF8.GetBytes(json), "application/json");

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string limit)
    {
        var problem = await response.AssertProblemAsync(429);
        Assert.Equal("urn:jobapi:problem:quota-exceeded", problem.GetProperty("type").GetString());
        Assert.Equal(limit, problem.GetProperty("limit").GetString());
        Assert.Contains(limit, problem.GetProperty("detail").GetString());
        Assert.True(int.Parse(response.Headers.GetValues("Retry-After").Single()) >= 1);
    }

    [Fact]
    public async Task Caps_refuse_with_429_naming_the_limit_and_room_comes_back_when_jobs_end()
    {
        using var acme = Factory.ClientWithKey(Tenancy.AcmeKey);
        using var globex = Factory.ClientWithKey(Tenancy.GlobexKey);

        // Shards: 51 in one job is over the 50-shard cap.
        await AssertRefusedAsync(await PostAsync(acme, """{ "kind": "noop", "input": {}, "shards": 51 }"""), "JobApi:Limits:MaxQueuedShardsPerTenant");
        // Bytes: a 30 kB text is over the 20 kB cap.
        var text = new string('a', 30_000);
        await AssertRefusedAsync(await PostAsync(acme, $$"""{ "kind": "wordcount", "input": { "text": "{{text}}" }, "shards": 1 }"""), "JobApi:Limits:MaxStoredBytesPerTenant");

        // Jobs: three fit, the fourth is refused and creates nothing.
        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add((await acme.SubmitAsync(new { kind = "noop", input = new { }, shards = 10 })).Id());
        var before = await SnapshotAsync();
        await AssertRefusedAsync(await PostAsync(acme, """{ "kind": "noop", "input": {}, "shards": 1 }"""), "JobApi:Limits:MaxRunningJobsPerTenant");
        await AssertNothingCreatedSinceAsync(before);

        // Another tenant has its own caps.
        await globex.SubmitAsync(new { kind = "noop", input = new { }, shards = 10 });

        // A canceled job no longer counts.
        Assert.Equal(202, (int)(await acme.PostAsync($"/v1/jobs/{ids[0]}/cancel", null)).StatusCode);
        await TestSupport.WaitUntilAsync(async () =>
        {
            using var response = await PostAsync(acme, """{ "kind": "noop", "input": {}, "shards": 1 }""");
            return (int)response.StatusCode == 202;
        }, "a submit fits again after a cancel", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task The_sweep_settles_a_big_ledger_a_slice_at_a_time_and_gets_through_all_of_it()
    {
        var quota = Factory.Services.GetRequiredService<JobApi.Engine.TenantQuota>();
        const string tenant = "soylent";
        // 1,200 counted uploads that are gone (never written): each is released once a slice sees it.
        for (var i = 0; i < 1200; i++) Assert.Null(await quota.ReserveInputAsync(tenant, Guid.NewGuid().ToString("N"), 10));
        var usage = Keys.Tenant(tenant).Usage;
        var db = Redis.Redis.GetDatabase();

        var released = new List<int>();
        while (released.Sum() < 1200 && released.Count < 20) released.Add(await quota.SettleSliceAsync(tenant, 100));

        // A slice reads about what it was asked for (HSCAN pages of up to 500), not the whole ledger, and the slices
        // together went through all of it: every entry released once, the counters back to nothing.
        Assert.True(released[0] is > 0 and < 1200, $"first slice released {released[0]}");
        Assert.Equal(1200, released.Sum());
        Assert.Equal(0, await db.HashLengthAsync(Keys.Tenant(tenant).Open));
        Assert.False(await db.KeyExistsAsync(usage));
    }

    [Fact]
    public async Task A_schedule_starts_its_jobs_under_its_tenant_and_a_tick_over_quota_is_skipped_visibly()
    {
        // A tenant of its own (from a token), so the caps count this test's jobs only: 3 jobs fit, the 4th tick is over.
        using var initech = Factory.ClientWithKey(Tenancy.Token("initech"), asBearer: true);
        using var acme = Factory.ClientWithKey(Tenancy.AcmeKey);
        using var created = await initech.PostJsonAsync("/v1/schedules", new { cron = "* * * * * *", job = new { kind = "noop", input = new { }, shards = 1 } });
        var scheduleId = (await created.ReadJsonAsync()).Id();
        JsonElement schedule = default;
        await TestSupport.WaitUntilAsync(async () =>
        {
            schedule = await initech.GetJsonAsync($"/v1/schedules/{scheduleId}");
            return schedule.GetProperty("lastSkipped").ValueKind == JsonValueKind.Object;
        }, "a tick over the tenant's job cap is skipped", TimeSpan.FromSeconds(30));
        var skipped = schedule.GetProperty("lastSkipped");
        Assert.Contains("JobApi:Limits:MaxRunningJobsPerTenant", skipped.GetProperty("reason").GetString());
        var firstSkip = skipped.GetProperty("tick").AssertUtc("tick");

        var jobs = await initech.JobsOfScheduleAsync(scheduleId);
        Assert.Equal(3, jobs.Count);
        var acmeIds = (await acme.GetJsonAsync("/v1/jobs?limit=1000")).GetProperty("items").EnumerateArray().Select(j => j.Id()).ToHashSet();
        Assert.All(jobs, j => Assert.DoesNotContain(j.Id(), acmeIds));
        foreach (var job in jobs)
            Assert.Equal("initech", (string?)await Redis.Redis.GetDatabase().HashGetAsync(Keys.Job(job.Id()).Job, "tenant"));

        // The scheduler goes on: later ticks are skipped too (and recorded), and no job is added.
        await TestSupport.WaitUntilAsync(async () =>
            (await initech.GetJsonAsync($"/v1/schedules/{scheduleId}")).GetProperty("lastSkipped").GetProperty("tick").AssertUtc("tick") > firstSkip,
            "a later tick is skipped as well", TimeSpan.FromSeconds(30));
        Assert.Equal(3, (await initech.JobsOfScheduleAsync(scheduleId)).Count);
        Assert.Equal(204, (int)(await initech.DeleteAsync($"/v1/schedules/{scheduleId}")).StatusCode);
    }

    [Fact]
    public async Task Uploaded_inputs_count_toward_the_stored_bytes_cap_until_deleted_or_expired()
    {
        using var hooli = Factory.ClientWithKey(Tenancy.Token("hooli"), asBearer: true);
        async Task<HttpResponseMessage> UploadAsync(int bytes)
        {
            using var content = new ByteArrayContent(new byte[bytes]);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            return await hooli.PostAsync("/v1/inputs", content);
        }
        var first = (await hooli.UploadInputAsync(new byte[15_000])).Id();
        using (var over = await UploadAsync(10_000)) await AssertRefusedAsync(over, "JobApi:Limits:MaxStoredBytesPerTenant");

        // Deleted: its bytes come back at once.
        using (var deleted = await hooli.DeleteAsync($"/v1/inputs/{first}"))
            Assert.True((int)deleted.StatusCode == 204, $"{(int)deleted.StatusCode} {await deleted.Content.ReadAsStringAsync()}");
        Assert.Equal(404, (int)(await hooli.GetAsync($"/v1/inputs/{first}")).StatusCode);
        var second = (await hooli.UploadInputAsync(new byte[15_000])).Id();

        // Expired (its keys gone, as after the retention): its bytes come back once the ledger is settled.
        await Redis.Redis.GetDatabase().KeyDeleteAsync([Keys.Input(second).Meta, Keys.Input(second).Chunks]);
        await TestSupport.WaitUntilAsync(async () =>
        {
            using var response = await UploadAsync(10_000);
            return (int)response.StatusCode == 201;
        }, "an upload fits once the expired input is released", TimeSpan.FromSeconds(20));
    }
}
