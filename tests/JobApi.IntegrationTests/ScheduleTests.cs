using System.Text.Json;

namespace JobApi.IntegrationTests;

/// <summary>POST/GET/DELETE /v1/schedules, pause and resume, and jobs that carry the scheduleId.</summary>
[Collection(RedisCollection.Name)]
public sealed class ScheduleTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private static readonly object NoopJob = new { kind = "noop", input = new { } };

    private async Task<JsonElement> CreateAsync(string cron, string? timeZone = "UTC")
    {
        using var response = await Client.PostJsonAsync("/v1/schedules", new { cron, timeZone, job = NoopJob });
        var body = await response.ReadJsonAsync();
        Assert.True(201 == (int)response.StatusCode, body.ToString());
        Assert.Equal($"/v1/schedules/{body.Id()}", response.Headers.Location?.ToString());
        return body;
    }

    /// <summary>The tick each job of the schedule was started for (the job hash keeps it).</summary>
    private async Task<List<long>> TicksAsync(string scheduleId)
    {
        var ticks = new List<long>();
        foreach (var job in await Client.JobsOfScheduleAsync(scheduleId))
            ticks.Add((long)await Redis.Redis.GetDatabase().HashGetAsync($"{Factory.KeyPrefix}:{{{job.Id()}}}:job", "tick"));
        return ticks;
    }

    [Fact]
    public async Task A_schedule_is_created_read_listed_paused_resumed_and_deleted()
    {
        var created = await CreateAsync("0 0 1 1 *", "Europe/Paris");
        Assert.Equal("0 0 1 1 *", created.GetProperty("cron").GetString());
        Assert.Equal("Europe/Paris", created.GetProperty("timeZone").GetString());
        Assert.False(created.GetProperty("paused").GetBoolean());
        // Oracle: midnight of the next 1 January in Paris, converted by the platform's own time zone rules.
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        var expected = TimeZoneInfo.ConvertTimeToUtc(new DateTime(TimeZoneInfo.ConvertTimeFromUtc(DateTime.UtcNow, paris).Year + 1, 1, 1), paris);
        Assert.Equal(expected, created.GetProperty("nextRunAt").AssertUtc("nextRunAt"));

        var id = created.Id();
        Assert.Equal(expected, (await Client.GetJsonAsync($"/v1/schedules/{id}")).GetProperty("nextRunAt").AssertUtc("nextRunAt"));
        Assert.Contains((await Client.GetJsonAsync("/v1/schedules")).GetProperty("items").EnumerateArray(), s => s.Id() == id);

        using (var paused = await Client.PostAsync($"/v1/schedules/{id}/pause", null))
        {
            var body = await paused.ReadJsonAsync();
            Assert.True(body.GetProperty("paused").GetBoolean());
            Assert.Equal(JsonValueKind.Null, body.GetProperty("nextRunAt").ValueKind);
        }
        using (var resumed = await Client.PostAsync($"/v1/schedules/{id}/resume", null))
        {
            var body = await resumed.ReadJsonAsync();
            Assert.False(body.GetProperty("paused").GetBoolean());
            Assert.Equal(expected, body.GetProperty("nextRunAt").AssertUtc("nextRunAt"));
        }
        using (var deleted = await Client.DeleteAsync($"/v1/schedules/{id}")) Assert.Equal(204, (int)deleted.StatusCode);
        using (var gone = await Client.GetAsync($"/v1/schedules/{id}")) await gone.AssertProblemAsync(404);
        using (var gone = await Client.PostAsync($"/v1/schedules/{id}/pause", null)) await gone.AssertProblemAsync(404);
    }

    [Theory]
    [InlineData("""{"cron":"every minute","job":{"kind":"noop","input":{}}}""", "cron")]
    [InlineData("""{"cron":"* * *","job":{"kind":"noop","input":{}}}""", "cron")]
    [InlineData("""{"cron":"* * * * *","timeZone":"Mars/Olympus","job":{"kind":"noop","input":{}}}""", "timeZone")]
    [InlineData("""{"cron":"* * * * *"}""", "job")]
    [InlineData("""{"cron":"* * * * *","job":{"kind":"noop","input":{"sleepMs":-1}}}""", "job.input.sleepMs")]
    [InlineData("""{"cron":"* * * * *","job":{"kind":"nope","input":{}}}""", "job.kind")]
    public async Task A_bad_schedule_is_a_400_naming_the_field(string body, string field)
    {
        using var response = await Client.PostAsync("/v1/schedules", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(400);
        Assert.True(problem.GetProperty("errors").EnumerateObject().Any(p => p.Name.Contains(field, StringComparison.OrdinalIgnoreCase)), problem.ToString());
    }

    [Fact]
    public async Task A_schedule_starts_one_job_per_tick_carrying_its_scheduleId()
    {
        var id = (await CreateAsync("* * * * * *")).Id();
        await TestSupport.WaitUntilAsync(async () => (await Client.JobsOfScheduleAsync(id)).Count >= 3, "three ticks fired");
        (await Client.PostAsync($"/v1/schedules/{id}/pause", null)).Dispose();
        var jobs = await Client.JobsOfScheduleAsync(id);
        foreach (var job in jobs) Assert.Equal("succeeded", (await Client.WaitForFinalAsync(job.Id())).State());
        var ticks = await TicksAsync(id);
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
        Assert.All(ticks, t => Assert.Equal(0, t % 1000));
    }

    [Fact]
    public async Task A_tick_claimed_by_a_node_that_died_fires_exactly_once_when_claimed_again()
    {
        var id = (await CreateAsync("0 0 1 1 *")).Id();
        var db = Redis.Redis.GetDatabase();
        var next = $"{Factory.KeyPrefix}:{{schedules}}:next";
        var claimed = $"{Factory.KeyPrefix}:{{schedules}}:ticks";
        var tick = DateTimeOffset.UtcNow.AddSeconds(-30).ToUnixTimeMilliseconds() / 1000 * 1000;
        // A node claimed this missed tick and died before firing it: its claim (score) runs out in a moment.
        await db.HashSetAsync(claimed, id, tick);
        await db.SortedSetAddAsync(next, id, DateTimeOffset.UtcNow.AddMilliseconds(300).ToUnixTimeMilliseconds());
        await TestSupport.WaitUntilAsync(async () => (await Client.JobsOfScheduleAsync(id)).Count == 1, "the claimed tick fires");
        await TestSupport.WaitUntilAsync(async () => !await db.HashExistsAsync(claimed, id), "the schedule moves on");
        Assert.Equal([tick], await TicksAsync(id));

        // Now a node that died after starting the job but before moving the schedule on: the tick is claimed again.
        await db.HashSetAsync(claimed, id, tick);
        await db.SortedSetAddAsync(next, id, 0);
        await TestSupport.WaitUntilAsync(async () => !await db.HashExistsAsync(claimed, id), "the tick is handled again");
        Assert.Equal([tick], await TicksAsync(id));
        var nextRun = (await Client.GetJsonAsync($"/v1/schedules/{id}")).GetProperty("nextRunAt").AssertUtc("nextRunAt");
        Assert.Equal(new DateTime(DateTime.UtcNow.Year + 1, 1, 1, 0, 0, 0, DateTimeKind.Utc), nextRun);
    }
}

/// <summary>Two service nodes on the same key prefix (two WebApplicationFactory hosts): each tick fires once.</summary>
[Collection(RedisCollection.Name)]
public sealed class ScheduleTwoNodeTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task Two_nodes_fire_every_tick_exactly_once()
    {
        await using var second = new JobApiFactory(Redis, new Dictionary<string, string?> { ["JobApi:KeyPrefix"] = Factory.KeyPrefix });
        using var secondClient = second.CreateClient();
        Assert.Equal(200, (int)(await secondClient.GetAsync("/health/live")).StatusCode);

        using var response = await Client.PostJsonAsync("/v1/schedules", new { cron = "* * * * * *", job = new { kind = "noop", input = new { } } });
        var id = (await response.ReadJsonAsync()).Id();
        await TestSupport.WaitUntilAsync(async () => (await secondClient.JobsOfScheduleAsync(id)).Count >= 5, "five ticks fired");
        (await secondClient.PostAsync($"/v1/schedules/{id}/pause", null)).Dispose();
        var db = Redis.Redis.GetDatabase();
        await TestSupport.WaitUntilAsync(async () => !await db.HashExistsAsync($"{Factory.KeyPrefix}:{{schedules}}:ticks", id), "no tick is in flight");

        var ticks = new List<long>();
        foreach (var job in await Client.JobsOfScheduleAsync(id))
            ticks.Add((long)await db.HashGetAsync($"{Factory.KeyPrefix}:{{{job.Id()}}}:job", "tick"));
        ticks.Sort();
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
        // No tick lost between the first and the last one either: consecutive seconds.
        Assert.Equal((ticks[^1] - ticks[0]) / 1000 + 1, ticks.Count);
    }
}
