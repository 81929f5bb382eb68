using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// An API process killed in the middle of a POST: the client retries with the same Idempotency-Key (on another
/// node, or on the same one once restarted) and gets exactly one job. And 50 POSTs racing with one key on two
/// API nodes make one job.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class IdempotencyFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);
    private static object Body(int n) => new { kind = "noop", input = new { sleepMs = 20 * n }, shards = 3 };

    [Fact]
    public Task Api_killed_mid_post_then_retried_with_the_same_key_makes_exactly_one_job() => ProcessCluster.RunAsync(output, "api-crash-post", async cluster =>
    {
        var tally = new FaultTally("API process killed in the middle of a POST, client retries");
        var clean = cluster.AddNode("api", "Api");
        var worker = cluster.AddNode("worker", "Worker");
        var victim = cluster.AddNode("api-victim", "Api");
        await ProcessCluster.StartAllAsync(clean, worker, victim);
        using var cleanHttp = ProcessCluster.ClientFor(clean);
        using var victimHttp = ProcessCluster.ClientFor(victim);
        var ids = new List<string>();
        var duplicates = 0L;

        // Deterministic crash points: after the idempotency record is written (job not yet), and after the job is
        // written (not yet in rotation). Then crashes at random moments of a POST on a node that is restarted.
        var stages = new[] { "claimed", "created" };
        var randomRounds = FaultMode.Scale(4, 40);
        var random = new Random(FaultMode.Soak ? Environment.TickCount : 7);
        var victimRestart = Task.CompletedTask; // a killed victim starts again in the background until it is needed
        for (var round = 0; round < stages.Length + randomRounds; round++)
        {
            var key = $"crash-post-{round}";
            var before = await cluster.JobIndexCountAsync();
            (HttpStatusCode Status, JsonElement Body)? first;
            Stopwatch clock;
            if (round < stages.Length)
            {
                var armed = cluster.AddNode($"api-armed-{stages[round]}", "Api", ProcessCluster.Armed(("CrashInSubmit", stages[round])), mayCrash: true);
                await armed.StartAsync();
                using var armedHttp = ProcessCluster.ClientFor(armed);
                first = await ProcessCluster.PostJobAsync(armedHttp, Body(round), key);
                clock = Stopwatch.StartNew();
                Assert.True(await armed.WaitForExitAsync(TimeSpan.FromSeconds(10)) is not null, $"the node armed at '{stages[round]}' did not crash");
                armed.Reap();
                Assert.Null(first); // the connection died with the process
            }
            else
            {
                await victimRestart;
                var post = ProcessCluster.PostJobAsync(victimHttp, Body(round), key);
                await Task.Delay(random.Next(0, 12));
                victim.Kill();
                clock = Stopwatch.StartNew();
                first = await post;
                victimRestart = victim.StartAsync();
            }
            tally.Inject();

            // The client retries with the same key and body until it is answered (here: once the retry reaches a live node).
            if (round % 2 != 0) await victimRestart;
            var retry = await ProcessCluster.PostJobAsync(round % 2 == 0 ? cleanHttp : victimHttp, Body(round), key);
            tally.Recovered(clock.Elapsed);
            Assert.True(retry is { Status: HttpStatusCode.Accepted }, $"round {round}: the retry got {retry?.Status}: {retry?.Body}");
            var id = retry!.Value.Body.GetProperty("id").GetString()!;
            if (first is { Status: HttpStatusCode.Accepted } answered) Assert.Equal(id, answered.Body.GetProperty("id").GetString());
            var after = await cluster.JobIndexCountAsync();
            duplicates += Math.Max(0, after - before - 1);
            Assert.Equal(before + 1, after);
            output.WriteLine($"round {round}: first answer {first?.Status.ToString() ?? "none (connection died)"}, retry 202 with {id}");
            ids.Add(id);
        }

        await victimRestart;
        await cluster.SettleAsync(tally, ids, (_, result) => result.GetProperty("shards").GetInt32() == 3, JobTimeout);
        output.WriteLine(tally.Write(new Dictionary<string, object> { ["duplicateJobs"] = duplicates }));
        Assert.Equal(0, tally.JobsLost);
        Assert.Equal(0, tally.DuplicateCommits);
        Assert.Equal(0, duplicates);
    });

    [Fact]
    public Task Fifty_parallel_posts_with_one_key_on_two_nodes_make_one_job() => ProcessCluster.RunAsync(output, "idem-race", async cluster =>
    {
        var tally = new FaultTally("50 parallel POSTs with one Idempotency-Key (2 API nodes)");
        var a = cluster.AddNode("api-a", "Api,Worker");
        var b = cluster.AddNode("api-b", "Api");
        await ProcessCluster.StartAllAsync(a, b);
        using var httpA = ProcessCluster.ClientFor(a);
        using var httpB = ProcessCluster.ClientFor(b);
        var rounds = FaultMode.Scale(1, 10);
        var ids = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            var before = await cluster.JobIndexCountAsync();
            var clock = Stopwatch.StartNew();
            var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
                ProcessCluster.PostJobAsync(i % 2 == 0 ? httpA : httpB, Body(1), $"race-{round}")));
            tally.Inject(50);
            tally.Recovered(clock.Elapsed);
            Assert.All(answers, r => Assert.True(r is { Status: HttpStatusCode.Accepted }, $"a racing POST got {r?.Status}: {r?.Body}"));
            var distinct = answers.Select(r => r!.Value.Body.GetProperty("id").GetString()).Distinct().ToArray();
            Assert.Single(distinct);
            Assert.Equal(before + 1, await cluster.JobIndexCountAsync());
            ids.Add(distinct[0]!);
        }
        await cluster.SettleAsync(tally, ids, (_, result) => result.GetProperty("shards").GetInt32() == 3, JobTimeout);
        output.WriteLine(tally.Write(new Dictionary<string, object> { ["duplicateJobs"] = 0 }));
        Assert.Equal(0, tally.JobsLost);
    });
}
