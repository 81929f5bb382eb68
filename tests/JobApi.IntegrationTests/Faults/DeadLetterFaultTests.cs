using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// A poison shard (noop with failTimes at least maxAttempts): dead-lettered after its last attempt, its job
/// failed with the shard's error while other jobs go on; the dead letter is listed and POST /v1/jobs/{id}/retry
/// runs it again.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class DeadLetterFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public Task Poison_shard_fails_its_job_naming_the_shard_while_a_normal_job_succeeds() => ProcessCluster.RunAsync(output, "poison", async cluster =>
    {
        var service = cluster.AddNode("service", "Api,Worker");
        await service.StartAsync();
        var poison = await cluster.SubmitAsync(new { kind = "noop", input = new { failTimes = 5 }, shards = 1, maxAttempts = 3 });
        var normal = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 50 }, shards = 4 });

        var failed = await cluster.WaitForFinalAsync(poison, JobTimeout);
        Assert.Equal("failed", failed.GetProperty("state").GetString());
        var error = failed.GetProperty("error").GetString();
        output.WriteLine($"poison job error: {error}");
        Assert.Contains("shard 0", error);
        Assert.Contains("3 attempt", error);
        var (status, problem) = await cluster.GetRawAsync($"/v1/jobs/{poison}/result");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("failed", problem.GetProperty("state").GetString());

        var ok = await cluster.WaitForFinalAsync(normal, JobTimeout);
        Assert.Equal("succeeded", ok.GetProperty("state").GetString());
        Assert.Equal(4, (await cluster.ResultAsync(normal)).GetProperty("shards").GetInt32());

        var poisonCounters = await cluster.ReportAsync("poison", poison);
        Assert.Equal(3, poisonCounters.Attempts);
        Assert.Equal(0, poisonCounters.Commits);
        Assert.Equal(1, poisonCounters.Failed);
        var normalCounters = await cluster.ReportAsync("normal", normal);
        Assert.Equal(normalCounters.Total, normalCounters.Commits);
        Assert.Equal(normalCounters.Total, normalCounters.Attempts);

        // The dead letter is listed (the shards endpoint: state failed, its attempts and error) and can be retried.
        var dead = Assert.Single(await cluster.ShardsAsync(poison));
        Assert.Equal("failed", dead.GetProperty("state").GetString());
        Assert.Equal(3, dead.GetProperty("attempts").GetInt32());
        Assert.Contains("noop", dead.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        var tally = new FaultTally("poison shard dead-lettered, then POST /retry");
        tally.Inject();
        var clock = Stopwatch.StartNew();
        using var retry = await cluster.Http.PostAsync($"/v1/jobs/{poison}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal("running", JsonDocument.Parse(await retry.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());
        // Attempts go on from 3 with 3 more allowed: attempts 4 and 5 still throw (failTimes 5), attempt 6 succeeds.
        var counters = await cluster.SettleAsync(tally, [poison], (_, result) => result.GetProperty("shards").GetInt32() == 1, JobTimeout);
        tally.Recovered(clock.Elapsed);
        tally.Job(normalCounters);
        output.WriteLine(tally.Write());
        var retried = Assert.Single(counters);
        Assert.Equal(1, retried.Commits);
        Assert.Equal(6, retried.Attempts);
        Assert.Equal(0, tally.JobsLost);
    });
}
