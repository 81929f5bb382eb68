namespace JobApi.IntegrationTests.Cluster;

/// <summary>Scheduling on a topology with its queue partitions spread over the slots: priority bands, delayed,
/// dependent and timed-out jobs, deletion and a recurring schedule. Any script or transaction that touched two
/// slots would fail here with CROSSSLOT.</summary>
public static class ScaleOutScheduling
{
    public static async Task PriorityBandsDelaysDependenciesAndTimeoutsAsync(HttpClient client)
    {
        // Several jobs per band, so that every band list of several partitions is used.
        var banded = new List<(string Id, int Priority)>();
        foreach (var priority in new[] { -5, 0, 8 })
            for (var i = 0; i < 4; i++)
                banded.Add(((await client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 5 }, shards = 6, priority })).Id(), priority));
        var delayed = await client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 100 }, shards = 3, delaySeconds = 1 });
        var dependent = await client.SubmitAsync(new { kind = "noop", input = new { }, shards = 2, priority = 3, dependsOn = new[] { delayed.Id() } });
        var overdue = await client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 20_000 }, shards = 2, timeoutSeconds = 1 });
        Assert.Equal("waiting", delayed.State());
        Assert.Equal("waiting", dependent.State());

        foreach (var (id, priority) in banded)
        {
            var done = await client.WaitForFinalAsync(id);
            Assert.Equal("succeeded", done.State());
            Assert.Equal(priority, done.GetProperty("priority").GetInt32());
        }
        var primes = await client.ResultAsync(delayed.Id());
        Assert.Equal(Oracles.PrimesByTrialDivision(0, 100).Count, primes.GetProperty("count").GetInt64());
        var dependentDone = await client.WaitForFinalAsync(dependent.Id());
        Assert.Equal("succeeded", dependentDone.State());
        Assert.True(dependentDone.GetProperty("startedAt").AssertUtc("startedAt")
            >= (await client.GetJsonAsync($"/v1/jobs/{delayed.Id()}")).GetProperty("finishedAt").AssertUtc("finishedAt"));
        var timedOut = await client.WaitForFinalAsync(overdue.Id(), TimeSpan.FromSeconds(20));
        Assert.Equal("failed", timedOut.State());
        Assert.Contains("timed out", timedOut.GetProperty("error").GetString());

        using (var delete = await client.DeleteAsync($"/v1/jobs/{banded[0].Id}")) Assert.Equal(204, (int)delete.StatusCode);
        using (var gone = await client.GetAsync($"/v1/jobs/{banded[0].Id}")) Assert.Equal(404, (int)gone.StatusCode);
    }

    public static async Task ScheduleFiresJobsAsync(HttpClient client)
    {
        using var created = await client.PostJsonAsync("/v1/schedules", new { cron = "* * * * * *", timeZone = "UTC", job = new { kind = "noop", input = new { } } });
        var schedule = await created.ReadJsonAsync();
        Assert.True(201 == (int)created.StatusCode, schedule.ToString());
        try
        {
            await TestWait.UntilAsync(async () => (await client.JobsOfScheduleAsync(schedule.Id())).Count >= 2,
                TimeSpan.FromSeconds(30), "the schedule did not fire twice");
            foreach (var job in await client.JobsOfScheduleAsync(schedule.Id()))
                Assert.NotEqual("failed", (await client.WaitForFinalAsync(job.Id())).State());
        }
        finally
        {
            using var delete = await client.DeleteAsync($"/v1/schedules/{schedule.Id()}");
            Assert.Equal(204, (int)delete.StatusCode);
        }
    }
}
