using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// SIGTERM, the graceful way down: a worker stops taking shards, lets running ones finish within
/// <c>JobApi:Worker:ShutdownGrace</c> and releases the rest (not counted as failed attempts); an API node
/// finishes the requests it is serving before it exits.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class ShutdownTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(400, "00:00:10")]   // shards end inside the grace period: they commit on the way down
    [InlineData(5_000, "00:00:01")]  // shards outlast the grace period: they are released to the next worker
    public Task Sigterm_on_a_worker_mid_shard_loses_nothing_and_counts_no_failed_attempt(int sleepMs, string grace) =>
        ProcessCluster.RunAsync(output, "sigterm-worker", async cluster =>
    {
        var tally = new FaultTally(sleepMs < 1000 ? "worker SIGTERM, shards finish within the grace period" : "worker SIGTERM, shards outlast the grace period (released)");
        var api = cluster.AddNode("api", "Api");
        var settings = new Dictionary<string, string> { ["JobApi__Worker__Concurrency"] = "2", ["JobApi__Worker__ShutdownGrace"] = grace };
        var leaving = cluster.AddNode("worker-leaving", "Worker", settings);
        var next = cluster.AddNode("worker-next", "Worker", new Dictionary<string, string>(settings) { ["JobApi__Worker__Concurrency"] = "8" });
        await ProcessCluster.StartAllAsync(api, leaving);
        const int shards = 8;
        var id = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs }, shards, maxAttempts = 1 });
        List<(string JobId, int Index)> held = [];
        await ProcessCluster.WaitAsync("the worker holds two shards", async () => (held = await cluster.HeldByAsync([id], leaving.WorkerId)).Count == 2,
            TimeSpan.FromSeconds(20));

        var leavingId = leaving.WorkerId;
        leaving.Terminate();
        var clock = Stopwatch.StartNew();
        tally.Inject();
        var exit = await leaving.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var shutdown = clock.Elapsed;
        leaving.Reap();
        Assert.Equal(0, exit);
        var atExit = await cluster.CountersAsync(id);
        var failures = await cluster.Db.HashLengthAsync(cluster.JobKey(id, "failures"));
        output.WriteLine($"worker exited with {exit} after {shutdown.TotalSeconds:F1} s: {atExit}, failed attempts recorded: {failures}");
        Assert.Equal(0, failures); // maxAttempts is 1: a released shard counted as failed would have failed the job
        Assert.Empty(await cluster.HeldByAsync([id], leavingId));
        if (sleepMs < 1000)
        {
            // What it held finished and was committed on the way down, and it took no new shards: had it gone on
            // leasing, the grace period would have been enough to finish all of them.
            Assert.True(await cluster.AllCommittedAsync(held), "a shard the worker held at SIGTERM was not committed");
            Assert.InRange(atExit.Succeeded, 2, shards - 1);
        }
        else Assert.Equal(0, atExit.Succeeded);

        await next.StartAsync();
        var counters = await cluster.SettleAsync(tally, [id], (_, result) => result.GetProperty("shards").GetInt32() == shards, JobTimeout);
        tally.Recovered(shutdown); // the node is out with its shards committed or released
        output.WriteLine(tally.Write(new Dictionary<string, object> { ["shutdownSeconds"] = Math.Round(shutdown.TotalSeconds, 2) }));
        var c = Assert.Single(counters);
        Assert.Equal(shards, c.Commits);
        Assert.Equal(0, tally.JobsLost);
    });

    [Fact]
    public Task Sigterm_on_a_worker_holding_shards_ahead_of_its_slots_gives_them_back_at_once() =>
        ProcessCluster.RunAsync(output, "sigterm-ahead", async cluster =>
    {
        var tally = new FaultTally("worker SIGTERM while holding shards ahead of its slots");
        var api = cluster.AddNode("api", "Api");
        var settings = new Dictionary<string, string> { ["JobApi__Worker__Concurrency"] = "1", ["JobApi__Worker__ShutdownGrace"] = "00:00:10" };
        var leaving = cluster.AddNode("worker-leaving", "Worker", settings);
        var next = cluster.AddNode("worker-next", "Worker", settings);
        await ProcessCluster.StartAllAsync(api, leaving);
        // The worker holds several 4 s shards of one job: one runs, the others wait ahead of the slot.
        const int shards = 6;
        var (id, holding) = await cluster.HoldShardsAheadAsync(tally, leaving, shards, sleepMs: 4000, JobTimeout);
        var held = holding.Count;

        var leavingId = leaving.WorkerId;
        leaving.Terminate();
        var clock = Stopwatch.StartNew();
        tally.Inject();
        // Those held ahead go back to the queue at once, while the running one finishes within the grace period.
        await ProcessCluster.WaitAsync("the shards held ahead are queued again", async () =>
            await cluster.Db.ListLengthAsync(cluster.JobKey(id, "ready")) == shards - 1, TimeSpan.FromSeconds(2));
        var released = clock.Elapsed;
        Assert.Single(await cluster.HeldByAsync([id], leavingId));
        var exit = await leaving.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var shutdown = clock.Elapsed;
        leaving.Reap();
        Assert.Equal(0, exit);
        var atExit = await cluster.CountersAsync(id);
        output.WriteLine($"held {held}, released after {released.TotalMilliseconds:F0} ms; exited with {exit} after {shutdown.TotalSeconds:F1} s: {atExit}");
        Assert.Empty(await cluster.HeldByAsync([id], leavingId));
        Assert.Equal(0, await cluster.Db.HashLengthAsync(cluster.JobKey(id, "failures"))); // maxAttempts 1: none counted as failed
        Assert.Equal(1, atExit.Succeeded); // the running shard finished and committed on the way down

        await next.StartAsync();
        var counters = await cluster.SettleAsync(tally, [id], (_, result) => result.GetProperty("shards").GetInt32() == shards, JobTimeout);
        tally.Recovered(shutdown);
        output.WriteLine(tally.Write(new Dictionary<string, object> { ["releasedMs"] = Math.Round(released.TotalMilliseconds) }));
        Assert.Equal(shards, counters.Single(c => c.JobId == id).Commits);
        Assert.Equal(0, tally.JobsLost);
    });

    [Fact]
    public Task Sigterm_on_an_api_node_finishes_the_requests_it_is_serving() => ProcessCluster.RunAsync(output, "sigterm-api", async cluster =>
    {
        var tally = new FaultTally("API node SIGTERM with requests in flight");
        var api = cluster.AddNode("api", "Api");
        var worker = cluster.AddNode("worker", "Worker");
        await ProcessCluster.StartAllAsync(api, worker);
        var id = await cluster.SubmitAsync(new { kind = "noop", input = new { sleepMs = 1500 }, shards = 2 });
        using var http = ProcessCluster.ClientFor(api);
        // Long polls held open by the node: each must get its full answer, not a dropped connection.
        var polls = Enumerable.Range(0, 5).Select(_ => http.GetAsync($"/v1/jobs/{id}/result?waitSeconds=20")).ToArray();
        await ProcessCluster.WaitAsync("the job runs", async () => (await cluster.CountersAsync(id)).State == "running", TimeSpan.FromSeconds(20));
        await Task.Delay(100); // the polls are parked on the node (they were sent before the job started running)

        api.Terminate();
        var clock = Stopwatch.StartNew();
        tally.Inject();
        var responses = await Task.WhenAll(polls);
        tally.Recovered(clock.Elapsed);
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("\"shards\":2", await response.Content.ReadAsStringAsync());
            response.Dispose();
        }
        Assert.Equal(0, await api.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var counters = await cluster.CountersAsync(id);
        Assert.Equal("succeeded", counters.State);
        tally.Job(counters);
        output.WriteLine(tally.Write(new Dictionary<string, object> { ["requestsDrained"] = responses.Length }));
    });
}
