using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using JobApi.Engine;
using JobApi.JobKinds;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using StackExchange.Redis;

namespace JobApi.IntegrationTests.Watching;

/// <summary>The short path of a lone job: its short result rides on its final event to the request waiting for it, and
/// an idle worker runs the one shard of a kind it knows to be short on the thread its lease came back on.</summary>
[Collection(RedisCollection.Name)]
public sealed class LoneJobPathTests(RedisServerFixture redis) : KindsServiceTest(redis, s => s.AddJobKind<ThreadProbe>())
{
    private RedisKeys Keys => new(Base.KeyPrefix);

    [Fact]
    public async Task A_waiting_request_answers_with_the_result_its_jobs_final_event_carries()
    {
        // The job sleeps 20 s; an event that says it succeeded with another result is what the request answers with,
        // which shows the event's result is used as it is, not read back.
        var id = (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 20_000 } })).Id();
        var waiting = Client.GetAsync($"/v1/jobs/{id}/result?waitSeconds=30");
        var publisher = Redis.Redis.GetSubscriber();
        var clock = Stopwatch.StartNew();
        // Again and again: the request may not have registered its wait when the first one goes out.
        while (!waiting.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await publisher.PublishAsync(Keys.EventsChannel, $"{id}||{{\"from\":\"event\"}}");
            await Task.WhenAny(waiting, Task.Delay(100));
        }
        using var response = await waiting; // without the event's result: the job's own, after its 20 s
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("noop", body.GetProperty("kind").GetString());
        Assert.Equal("event", body.GetProperty("result").GetProperty("from").GetString());
        await Client.PostAsync($"/v1/jobs/{id}/cancel", null);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(300)]
    public async Task A_short_result_comes_with_the_final_event_and_a_long_one_is_read_back(int length)
    {
        var events = new ConcurrentQueue<string>();
        var subscriber = Redis.Redis.GetSubscriber();
        Action<RedisChannel, RedisValue> handler = (_, message) => events.Enqueue(message!);
        await subscriber.SubscribeAsync(Keys.EventsChannel, handler);
        try
        {
            var id = (await Client.SubmitAsync(new { kind = ThreadProbe.KindName, input = new { length } })).Id();
            var result = await Client.ResultAsync(id);
            var text = result.GetProperty("text").GetString()!;
            Assert.Equal(new string('x', length), text);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!events.Any(e => e.StartsWith(id, StringComparison.Ordinal)) && DateTime.UtcNow < deadline) await Task.Delay(20);
            var final = FinalEvent.Parse(events.Single(e => e.StartsWith(id, StringComparison.Ordinal)));
            if (length < 200) Assert.Equal(JsonSerializer.Serialize(new { text }), final.Result);
            else Assert.Null(final.Result); // over the 256 bytes an event carries
        }
        finally
        {
            await subscriber.UnsubscribeAsync(Keys.EventsChannel, handler);
        }
    }

    [Fact]
    public async Task An_idle_worker_runs_a_short_kinds_lone_shard_on_the_leasing_thread_and_other_work_on_shard_threads()
    {
        // Lone one-shard jobs, one at a time: the first is handed to a shard thread (the kind is not timed yet); once
        // the kind is known to be short, the idle worker runs them where their lease came back (a thread-pool thread).
        var lone = new List<ThreadProbe.Run>();
        for (var i = 0; i < 8; i++) lone.Add(await RunAsync(new { kind = ThreadProbe.KindName, input = new { length = 1 } }));
        Assert.StartsWith("shard-", lone[0].Thread);
        Assert.Contains(lone.Skip(1), r => r.OnPool);

        // Once its shards take longer (2 ms each), the kind's shards go to the shard threads again: the first slow one
        // may still run where it was leased (the kind was short until it ran), none after it.
        var slow = new List<ThreadProbe.Run>();
        for (var i = 0; i < 4; i++) slow.Add(await RunAsync(new { kind = ThreadProbe.KindName, input = new { length = 1, spinMs = 2 } }));
        Assert.All(slow.Skip(1), r => Assert.StartsWith("shard-", r.Thread));
        // A job of several shards goes to the shard threads.
        Assert.All(await RunAllAsync(new { kind = ThreadProbe.KindName, input = new { length = 1 }, shards = 6 }),
            r => Assert.StartsWith("shard-", r.Thread));
    }

    private async Task<ThreadProbe.Run> RunAsync(object body) => Assert.Single(await RunAllAsync(body));

    private async Task<List<ThreadProbe.Run>> RunAllAsync(object body)
    {
        var id = (await Client.SubmitAsync(body)).Id();
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(id)).State());
        return ThreadProbe.Runs.Where(r => r.JobId == id).ToList();
    }

    /// <summary>Records the thread each shard ran on; spins <c>spinMs</c> per shard; the result is <c>length</c> x's.</summary>
    private sealed class ThreadProbe : IJobKind
    {
        public const string KindName = "test-thread-probe";

        public sealed record Run(string JobId, int Index, string Thread, bool OnPool);

        public static readonly ConcurrentQueue<Run> Runs = new();

        public string Name => KindName;
        public string Description => "Records where its shards ran.";
        public JsonNode InputSchema => JsonNode.Parse("""{ "type": "object" }""")!;
        public JsonNode Example => new JsonObject { ["kind"] = Name, ["input"] = new JsonObject() };

        public ValueTask<JobPlan> PlanAsync(JsonElement input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(JobPlan.Of(Enumerable.Repeat(input.GetRawText(), requestedShards ?? 1).ToArray()));

        public ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
        {
            using var input = JsonDocument.Parse(work.Payload);
            if (input.RootElement.TryGetProperty("spinMs", out var spin))
            {
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed.TotalMilliseconds < spin.GetInt32()) Thread.SpinWait(100);
            }
            var thread = Thread.CurrentThread;
            Runs.Enqueue(new Run(work.JobId, work.Index, thread.Name ?? "", thread.IsThreadPoolThread));
            return ValueTask.FromResult(new string('x', input.RootElement.GetProperty("length").GetInt32()));
        }

        public string Merge(string mergeContext, IReadOnlyList<string> shardResults) =>
            JsonSerializer.Serialize(new { text = string.Concat(shardResults) });
    }
}
