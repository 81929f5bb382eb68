using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.IntegrationTests.Cluster;

/// <summary>The end-to-end checks that must hold on every Redis topology (single, Cluster, Sentinel): each one
/// submits over HTTP and checks the result against an independent oracle.</summary>
public static class ScaleOutScenarios
{
    public static async Task PrimesMatchTrialDivisionAsync(HttpClient client)
    {
        (long From, long To, int Shards)[] ranges = [(0, 100, 7), (999_000, 1_030_000, 13), (2, 2, 1)];
        var ids = new List<string>();
        foreach (var (from, to, shards) in ranges)
            ids.Add((await client.SubmitAsync(new { kind = "primes", input = new { from, to }, shards })).Id());
        for (var i = 0; i < ranges.Length; i++)
        {
            var result = await client.ResultAsync(ids[i]);
            var (count, sum) = Oracles.PrimesByTrialDivision(ranges[i].From, ranges[i].To);
            Assert.Equal(count, result.GetProperty("count").GetInt64());
            Assert.Equal(sum, BigInteger.Parse(result.GetProperty("sum").GetRawText()));
        }
    }

    public static async Task WordcountMatchesGnuPipelineAsync(HttpClient client)
    {
        var random = new Random(Environment.TickCount);
        var documents = Enumerable.Range(0, 5).Select(_ => Oracles.RandomAsciiText(random, random.Next(50, 800))).ToArray();
        var job = await client.SubmitAsync(new { kind = "wordcount", input = new { documents, top = 50 }, shards = 5 });
        var result = await client.ResultAsync(job.Id());
        Oracles.AssertWordCount(Oracles.GnuWordCount(documents), 50, result, "wordcount on a cluster");
    }

    public static async Task NoopCountsEveryShardAsync(HttpClient client)
    {
        var job = await client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 1 }, shards = 30, maxAttempts = 3 });
        var result = await client.ResultAsync(job.Id());
        Assert.Equal(30, result.GetProperty("shards").GetInt32());
    }

    public static async Task CancelStopsTheJobAsync(HttpClient client)
    {
        var job = await client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 5_000 }, shards = 20 });
        using var cancel = await client.PostAsync($"/v1/jobs/{job.Id()}/cancel", null);
        Assert.Equal(202, (int)cancel.StatusCode);
        Assert.Equal("canceled", (await client.WaitForFinalAsync(job.Id())).State());
    }

    public static async Task IdempotencyKeyGivesOneJobAsync(HttpClient client)
    {
        var key = Guid.NewGuid().ToString("N");
        var body = new { kind = "noop", input = new { sleepMs = 0 }, shards = 2 };
        var racing = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => client.SubmitAsync(body, key)));
        Assert.Single(racing.Select(s => s.Id()).Distinct());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = JsonContent.Create(new { kind = "noop", input = new { sleepMs = 1 } }) };
        request.Headers.Add("Idempotency-Key", key);
        using var other = await client.SendAsync(request);
        Assert.Equal(422, (int)other.StatusCode);
        Assert.Equal(2, (await client.ResultAsync(racing[0].Id())).GetProperty("shards").GetInt32());
    }

    /// <summary>With jobs spread over the partitions, the list is still every job, newest first, page after page.</summary>
    public static async Task ListIsNewestFirstAcrossPartitionsAsync(HttpClient client)
    {
        var submitted = new List<string>();
        for (var i = 0; i < 12; i++) submitted.Add((await client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 1 })).Id());
        var listed = new List<string>();
        string? cursor = null;
        do
        {
            var page = await client.GetJsonAsync($"/v1/jobs?kind=noop&limit=5{(cursor is null ? "" : "&cursor=" + cursor)}");
            listed.AddRange(page.GetProperty("items").EnumerateArray().Select(s => s.Id()));
            cursor = page.GetProperty("nextCursor").GetString();
        } while (cursor is not null);
        Assert.Equal(listed.Order(StringComparer.Ordinal).Reverse(), listed);
        Assert.Empty(submitted.Except(listed));
    }

    /// <summary>A job long enough to be caught mid-way: 40 shards of 150 ms on 4 slots (or <paramref name="shards"/>).</summary>
    public static Task<JsonElement> SubmitLongJobAsync(HttpClient client, int shards = 40) =>
        client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 150 }, shards, maxAttempts = 10 });

    /// <summary>Waits until some but not all shards of the job have succeeded.</summary>
    public static Task WaitUntilMidJobAsync(HttpClient client, string id) => TestWait.UntilAsync(async () =>
    {
        var shards = (await client.GetJsonAsync($"/v1/jobs/{id}")).GetProperty("shards");
        return shards.GetProperty("succeeded").GetInt32() >= 4;
    }, TimeSpan.FromSeconds(30), $"job {id} did not get under way");

    /// <summary>The job finished with the exact result and each shard committed exactly once.</summary>
    public static async Task AssertFinishedExactlyAsync(HttpClient client, IConnectionMultiplexer redis, string prefix, string id, int shards = 40)
    {
        // While the replica takes over, the API answers 503 (Redis unavailable) as the contract says: poll through it.
        var state = "";
        await TestWait.UntilAsync(async () =>
        {
            using var response = await client.GetAsync($"/v1/jobs/{id}");
            if ((int)response.StatusCode == 503) return false;
            var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.True(response.IsSuccessStatusCode, $"status of {id}: {(int)response.StatusCode} {status}");
            state = status.State();
            return state is "succeeded" or "failed" or "canceled";
        }, TimeSpan.FromSeconds(60), $"job {id} did not finish after the failover");
        Assert.Equal("succeeded", state);
        Assert.Equal(shards, (await client.GetJsonAsync($"/v1/jobs/{id}/result")).GetProperty("result").GetProperty("shards").GetInt32());
        var job = await redis.GetDatabase().HashGetAsync(new RedisKeys(prefix).Job(id).Job, ["total", "commits"]);
        Assert.Equal(shards, (int)job[0]);
        Assert.Equal(shards, (int)job[1]);
    }
}
