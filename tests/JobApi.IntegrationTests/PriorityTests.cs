namespace JobApi.IntegrationTests;

/// <summary>priority: higher bands are served first, lower bands keep a share (one worker slot, so every
/// rotation round hands out exactly one shard and the order is the policy's alone).</summary>
[Collection(RedisCollection.Name)]
public sealed class PriorityTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, new Dictionary<string, string?> { ["JobApi:Worker:Concurrency"] = "1" })
{
    [Fact]
    public async Task A_high_priority_job_submitted_after_a_low_one_finishes_first()
    {
        var low = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 20 }, shards = 40 });
        await TestSupport.WaitUntilAsync(async () => (await Client.GetJsonAsync($"/v1/jobs/{low.Id()}")).State() == "running", "the low job runs");
        var high = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 20 }, shards = 10, priority = 10 });
        Assert.Equal(10, high.GetProperty("priority").GetInt32());

        var highDone = await Client.WaitForFinalAsync(high.Id());
        var lowAtThatTime = await Client.GetJsonAsync($"/v1/jobs/{low.Id()}");
        var lowDone = await Client.WaitForFinalAsync(low.Id());
        Assert.Equal("succeeded", highDone.State());
        Assert.Equal("succeeded", lowDone.State());
        Assert.True(highDone.GetProperty("finishedAt").AssertUtc("finishedAt") < lowDone.GetProperty("finishedAt").AssertUtc("finishedAt"),
            $"high {highDone} finished after low {lowDone}");
        Assert.True(lowAtThatTime.GetProperty("shards").GetProperty("succeeded").GetInt32() < 40, $"low was not overtaken: {lowAtThatTime}");
    }

    [Fact]
    public async Task A_low_priority_job_still_progresses_while_higher_ones_keep_the_worker_busy()
    {
        var highs = new List<string>();
        for (var i = 0; i < 3; i++)
            highs.Add((await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 20 }, shards = 30, priority = 5 })).Id());
        var low = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 20 }, shards = 4, priority = -5 });

        var lowDone = await Client.WaitForFinalAsync(low.Id());
        Assert.Equal("succeeded", lowDone.State());
        var highStates = await Task.WhenAll(highs.Select(h => Client.GetJsonAsync($"/v1/jobs/{h}")));
        Assert.True(highStates.Any(h => h.State() != "succeeded"), "the low job only ran once every high job had finished: it was starved");
        foreach (var h in highs) Assert.Equal("succeeded", (await Client.WaitForFinalAsync(h)).State());
    }

    [Fact]
    public async Task A_priority_out_of_range_is_a_400_naming_priority()
    {
        using var response = await PostJobJsonAsync("""{"kind":"noop","input":{},"priority":5000}""");
        (await response.AssertProblemAsync(400)).AssertNamesField("priority");
    }
}
