using System.Net;
using JobApi.Engine;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// Bounded memory: many small jobs (5,000 in CI mode, 100,000 with JOBAPI_SOAK=1) come and go under a short
/// retention; once it has passed, every key of every job is gone (job data, leases, idempotency records, index
/// entries) and Redis memory and the worker's RSS are back near their baseline.
/// </summary>
[Collection(FaultCollection.Name)]
[Trait("Category", "Fault")]
public sealed class RetentionSoakTests(ITestOutputHelper output)
{
    [Fact]
    public Task Finished_jobs_expire_and_memory_returns_to_its_baseline() => ProcessCluster.RunAsync(output, "retention-soak", async cluster =>
    {
        var jobs = FaultMode.Scale(5_000, 100_000);
        var settings = new Dictionary<string, string> { ["JobApi__Retention"] = "00:00:02", ["JobApi__Worker__Concurrency"] = "8" };
        var api = cluster.AddNode("api", "Api", settings);
        var worker = cluster.AddNode("worker", "Worker", settings);
        await ProcessCluster.StartAllAsync(api, worker);
        using var http = ProcessCluster.ClientFor(api);

        // Baseline: after a warm-up batch has come and gone (scripts loaded, code jitted, pools sized).
        await RunBatchAsync(cluster, http, 200);
        await WaitForNoKeysAsync(cluster);
        var (redisBaseline, rssBaseline) = (await cluster.UsedMemoryAsync(), worker.RssBytes());

        // Peaks are sampled while the jobs come and go.
        long redisPeak = 0, rssPeak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                redisPeak = Math.Max(redisPeak, await cluster.UsedMemoryAsync());
                rssPeak = Math.Max(rssPeak, worker.RssBytes());
                await Task.Delay(100);
            }
        });
        var peak = await RunBatchAsync(cluster, http, jobs);
        await sampling.CancelAsync();
        await sampler;
        var left = await WaitForNoKeysAsync(cluster);
        var (redisAfter, rssAfter) = (await cluster.UsedMemoryAsync(), worker.RssBytes());

        var figures = new Dictionary<string, object>
        {
            ["jobs"] = jobs, ["redisBaselineBytes"] = redisBaseline, ["redisPeakBytes"] = redisPeak, ["redisAfterBytes"] = redisAfter,
            ["workerRssBaselineBytes"] = rssBaseline, ["workerRssPeakBytes"] = rssPeak, ["workerRssAfterBytes"] = rssAfter,
            ["keysAtEnd"] = peak, ["secondsUntilNoKeys"] = Math.Round(left.TotalSeconds, 1),
        };
        var tally = new FaultTally("retention soak (memory)");
        output.WriteLine(tally.Write(figures));
        output.WriteLine($"Redis used_memory: baseline {Mb(redisBaseline)}, peak {Mb(redisPeak)}, after retention {Mb(redisAfter)}; " +
                         $"worker RSS: baseline {Mb(rssBaseline)}, peak {Mb(rssPeak)}, after {Mb(rssAfter)}; {peak} keys when the last job finished");
        Assert.True(redisAfter <= redisBaseline + (2 << 20), $"Redis kept {Mb(redisAfter - redisBaseline)} over its baseline");
        Assert.True(rssAfter <= rssBaseline * 2, $"worker RSS grew from {Mb(rssBaseline)} to {Mb(rssAfter)}");
    });

    /// <summary>Submits <paramref name="count"/> small jobs (some with Idempotency-Keys, some failing, some with
    /// several shards), waits until the service has nothing unfinished, and returns how many keys exist then.</summary>
    private static async Task<int> RunBatchAsync(ProcessCluster cluster, HttpClient http, int count)
    {
        var next = -1;
        var run = Guid.NewGuid().ToString("N")[..8];
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                object body = (i % 100) switch
                {
                    0 => new { kind = "noop", input = new { failTimes = 1 }, shards = 1, maxAttempts = 1 }, // ends failed
                    < 5 => new { kind = "noop", input = new { sleepMs = 0 }, shards = 8 },
                    _ => new { kind = "noop", input = new { sleepMs = 0 }, shards = 1 },
                };
                var answer = await ProcessCluster.PostJobAsync(http, body, i % 10 == 0 ? $"soak-{run}-{i}" : null);
                Assert.True(answer is { Status: HttpStatusCode.Accepted }, $"job {i}: {answer?.Status} {answer?.Body}");
            }
        }));
        await ProcessCluster.WaitAsync("every job has finished", async () =>
            await cluster.Db.SortedSetLengthAsync(new RedisKeys(cluster.KeyPrefix).Pending(0)) == 0, TimeSpan.FromMinutes(count / 1000 + 2));
        return (await cluster.KeysAsync()).Count;
    }

    private static async Task<TimeSpan> WaitForNoKeysAsync(ProcessCluster cluster)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        List<string> left = [];
        await ProcessCluster.WaitAsync("every key of the finished jobs has expired", async () =>
        {
            left = await cluster.KeysAsync();
            if (left.Count > 0) await Task.Delay(250);
            return left.Count == 0;
        }, TimeSpan.FromSeconds(90), () => $"{left.Count} keys, e.g. {string.Join(", ", left.Take(5))}");
        return clock.Elapsed;
    }

    private static string Mb(long bytes) => $"{bytes / 1048576.0:F1} MiB";
}
