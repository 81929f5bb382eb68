namespace JobApi.IntegrationTests;

/// <summary>delaySeconds and runAt: the job is waiting until due, then queued once.</summary>
[Collection(RedisCollection.Name)]
public sealed class DelayedJobTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task A_delayed_job_waits_then_runs_once_its_time_has_come()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 10 }, shards = 3, delaySeconds = 1 });
        Assert.Equal("waiting", job.State());
        var runAt = job.GetProperty("runAt").AssertUtc("runAt");
        var created = job.GetProperty("createdAt").AssertUtc("createdAt");
        Assert.Equal(1000, (runAt - created).TotalMilliseconds, 0);
        Assert.Equal("waiting", (await Client.GetJsonAsync($"/v1/jobs/{job.Id()}")).State());

        var final = await Client.WaitForFinalAsync(job.Id());
        Assert.Equal("succeeded", final.State());
        Assert.True(final.GetProperty("startedAt").AssertUtc("startedAt") >= runAt, $"started before runAt: {final}");
        Assert.Equal(3, final.GetProperty("attempts").GetInt64());
    }

    [Fact]
    public async Task A_job_with_runAt_in_the_past_runs_at_once()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { }, runAt = DateTimeOffset.UtcNow.AddMinutes(-5) });
        Assert.Equal("waiting", job.State());
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(job.Id(), TimeSpan.FromSeconds(20))).State());
    }

    [Fact]
    public async Task A_waiting_job_that_is_canceled_never_runs()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { }, delaySeconds = 1 });
        using (var cancel = await Client.PostAsync($"/v1/jobs/{job.Id()}/cancel", null)) Assert.Equal(202, (int)cancel.StatusCode);
        var due = Keys.Due(Keys.PartitionOf(job.Id()));
        // The scheduler drops the entry once it is due and sees the job canceled.
        await TestSupport.WaitUntilAsync(async () => (await Redis.Redis.GetDatabase().SortedSetScoreAsync(due, job.Id())) is null,
            "the scheduler let go of the canceled job");
        var status = await Client.GetJsonAsync($"/v1/jobs/{job.Id()}");
        Assert.Equal("canceled", status.State());
        Assert.Equal(0, status.GetProperty("attempts").GetInt64());
    }

    [Theory]
    [InlineData("""{"kind":"noop","input":{},"delaySeconds":5,"runAt":"2030-01-01T00:00:00Z"}""", "runAt")]
    [InlineData("""{"kind":"noop","input":{},"delaySeconds":99999999}""", "delaySeconds")]
    [InlineData("""{"kind":"noop","input":{},"delaySeconds":-1}""", "delaySeconds")]
    [InlineData("""{"kind":"noop","input":{},"runAt":"2999-01-01T00:00:00Z"}""", "runAt")]
    [InlineData("""{"kind":"noop","input":{},"runAt":"tomorrow"}""", "runAt")]
    public async Task Bad_delays_are_a_400_naming_the_field(string body, string field)
    {
        var before = await SnapshotAsync();
        using var response = await PostJobJsonAsync(body);
        (await response.AssertProblemAsync(400)).AssertNamesField(field);
        await AssertNothingCreatedSinceAsync(before);
    }
}
