using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>Delayed and recurring jobs under SIGKILL of scheduler nodes (every node schedules): a due job is
/// never lost or run twice, and a schedule tick never makes two jobs.</summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class SchedulingFaultTests(ITestOutputHelper output)
{
    [Fact]
    public Task Delayed_and_recurring_jobs_survive_killed_nodes_never_lost_or_doubled() => ProcessCluster.RunAsync(output, "scheduling", async cluster =>
    {
        var fast = new Dictionary<string, string>
        {
            ["JobApi__Scheduler__PollInterval"] = "00:00:00.100",
            ["JobApi__Scheduler__ClaimTimeout"] = "00:00:01",
            ["JobApi__Scheduler__DependencyRecheck"] = "00:00:00.500",
        };
        var api = cluster.AddNode("api", "Api", fast);
        var w1 = cluster.AddNode("worker-1", "Worker", fast);
        var w2 = cluster.AddNode("worker-2", "Worker", fast);
        await ProcessCluster.StartAllAsync(api, w1, w2);

        using var created = await cluster.Http.PostAsJsonAsync("/v1/schedules", new { cron = "* * * * * *", job = new { kind = "noop", input = new { } } });
        var scheduleId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var delayed = new List<string>();
        for (var i = 0; i < 8; i++)
            delayed.Add(await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 50 }, shards = 2, delaySeconds = 1 + i % 3 }));
        var dependent = await cluster.SubmitAsync(new { kind = "noop", input = new { }, dependsOn = delayed.ToArray() });

        // Kill scheduler nodes while delayed jobs fall due and ticks fire, then bring them back.
        await ProcessCluster.WaitAsync("the schedule has fired", async () => (await ScheduledTicksAsync(cluster, scheduleId)).Count >= 1, TimeSpan.FromSeconds(20));
        output.WriteLine($"SIGKILL {w1.Name} and {api.Name}");
        w1.Kill();
        api.Kill();
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await ProcessCluster.StartAllAsync(w1, api);

        foreach (var id in delayed.Append(dependent))
        {
            var final = await cluster.WaitForFinalAsync(id, TimeSpan.FromSeconds(60));
            Assert.Equal("succeeded", final.GetProperty("state").GetString());
            var counters = await cluster.ReportAsync("delayed", id);
            Assert.Equal(counters.Total, counters.Commits);
        }
        await ProcessCluster.WaitAsync("the schedule fires after the kill", async () =>
            (await ScheduledTicksAsync(cluster, scheduleId)).Count(t => t > killedAt) >= 3, TimeSpan.FromSeconds(30));
        (await cluster.Http.PostAsync($"/v1/schedules/{scheduleId}/pause", null)).Dispose();

        var ticks = await ScheduledTicksAsync(cluster, scheduleId);
        output.WriteLine($"{ticks.Count} ticks fired: {string.Join(", ", ticks.Select(t => t % 100_000))}");
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
    });

    /// <summary>The tick of every job the schedule started, read from the job hashes (the list endpoint finds them).</summary>
    private static async Task<List<long>> ScheduledTicksAsync(ProcessCluster cluster, string scheduleId)
    {
        var ticks = new List<long>();
        var page = await cluster.GetRawAsync("/v1/jobs?limit=1000");
        foreach (var job in page.Body.GetProperty("items").EnumerateArray())
        {
            if (!job.TryGetProperty("scheduleId", out var s) || s.GetString() != scheduleId) continue;
            ticks.Add((long)await cluster.Db.HashGetAsync(cluster.JobKey(job.GetProperty("id").GetString()!, "job"), "tick"));
        }
        ticks.Sort();
        return ticks;
    }
}
