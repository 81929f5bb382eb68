using System.Text.Json;

namespace JobApi.IntegrationTests.Watching;

/// <summary>GET /v1/workers: the worker registry with heartbeats and the shards each worker runs.</summary>
[Collection(RedisCollection.Name)]
public sealed class WorkersTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task The_worker_is_listed_with_a_recent_heartbeat_and_the_shards_it_is_running()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 4000 }, shards = 2 });
        // The listing that showed both shards is the one checked: a later one may come from a newer heartbeat.
        JsonElement listing = default;
        await TestSupport.WaitUntilAsync(async () =>
        {
            listing = await Client.GetJsonAsync("/v1/workers");
            return listing.GetProperty("items").EnumerateArray().Any(w =>
                w.GetProperty("running").EnumerateArray().Count(r => r.GetProperty("jobId").GetString() == job.Id()) == 2);
        }, "the worker lists both shards as running");

        var worker = Assert.Single(listing.GetProperty("items").EnumerateArray());
        Assert.Equal($"{Environment.MachineName}:{Environment.ProcessId}", worker.GetProperty("id").GetString());
        Assert.Equal(Environment.MachineName, worker.GetProperty("host").GetString());
        var started = worker.GetProperty("startedAt").AssertUtc("startedAt");
        var beat = worker.GetProperty("heartbeatAt").AssertUtc("heartbeatAt");
        Assert.True(beat >= started && DateTime.UtcNow - beat < TimeSpan.FromSeconds(30), $"stale heartbeat {beat:O}");
        var indexes = worker.GetProperty("running").EnumerateArray().Where(r => r.GetProperty("jobId").GetString() == job.Id())
            .Select(r => r.GetProperty("index").GetInt32()).Order();
        Assert.Equal([0, 1], indexes);

        await Client.PostAsync($"/v1/jobs/{job.Id()}/cancel", null);
        await TestSupport.WaitUntilAsync(async () =>
            (await Client.GetJsonAsync("/v1/workers")).GetProperty("items").EnumerateArray()
                .All(w => w.GetProperty("running").EnumerateArray().All(r => r.GetProperty("jobId").GetString() != job.Id())),
            "the canceled job's shards leave the worker's running list");
    }
}
