using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using JobApi.IntegrationTests.Security;

namespace JobApi.IntegrationTests.Watching;

/// <summary>An open <c>GET /v1/events</c> stream, read in the background: its <c>end</c> messages by job id, and every
/// message's event name in order.</summary>
internal sealed class EndsReader : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _ends = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(90));
    private readonly HttpResponseMessage _response;
    private readonly Task _reading;

    private EndsReader(HttpResponseMessage response)
    {
        _response = response;
        _reading = Task.Run(ReadAsync);
    }

    public ConcurrentQueue<string> Events { get; } = new();

    /// <summary>Completes when the server ends the stream.</summary>
    public Task Ended => _reading;

    public static async Task<EndsReader> OpenAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new EndsReader(response);
    }

    public Task<JsonElement> EndOfAsync(string id) => Entry(id).Task.WaitAsync(TimeSpan.FromSeconds(30));

    public bool Saw(string id) => _ends.TryGetValue(id, out var end) && end.Task.IsCompleted;

    private TaskCompletionSource<JsonElement> Entry(string id) =>
        _ends.GetOrAdd(id, _ => new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task ReadAsync()
    {
        using var reader = new StreamReader(await _response.Content.ReadAsStreamAsync(_stop.Token));
        string? kind = null;
        while (await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) kind = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                Assert.NotNull(kind);
                Events.Enqueue(kind!);
                var data = JsonDocument.Parse(line[6..]).RootElement.Clone();
                if (kind == "end") Assert.True(Entry(data.Id()).TrySetResult(data), $"a second end for {data.Id()}");
                kind = null;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _reading;
        }
        catch (OperationCanceledException)
        {
        }
        _response.Dispose();
        _stop.Dispose();
    }
}

/// <summary>GET /v1/events: one message per job of the caller's tenant as it ends, with its final state and a short result.</summary>
[Collection(RedisCollection.Name)]
public sealed class TenantEventsTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task Every_job_that_ends_while_the_stream_is_open_is_sent_once_with_its_final_state_and_short_result()
    {
        var before = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 1 })).Id();
        await Client.WaitForFinalAsync(before);
        await using var stream = await EndsReader.OpenAsync(Client);

        var text = "the quick brown fox jumps over the lazy dog the fox";
        var lone = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 1 })).Id();
        var failed = (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 5 }, shards = 2, maxAttempts = 1 })).Id();
        var words = (await Client.SubmitAsync(new { kind = "wordcount", input = new { text }, shards = 3 })).Id();
        var canceled = (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 30_000 }, shards = 2 })).Id();
        (await Client.PostAsync($"/v1/jobs/{canceled}/cancel", null)).EnsureSuccessStatusCode();

        var end = await stream.EndOfAsync(lone);
        Assert.Equal("succeeded", end.State());
        Assert.Equal(1, end.GetProperty("result").GetProperty("shards").GetInt32());
        Assert.Equal((await Client.ResultAsync(lone)).GetRawText(), end.GetProperty("result").GetRawText());

        end = await stream.EndOfAsync(failed);
        Assert.Equal("failed", end.State());
        Assert.False(end.TryGetProperty("result", out _));

        // A job of many shards may end with its merge stored apart: its end then comes without the result, read as usual.
        end = await stream.EndOfAsync(words);
        Assert.Equal("succeeded", end.State());
        var counted = end.TryGetProperty("result", out var sent) ? sent : await Client.ResultAsync(words);
        Oracles.AssertWordCount(Oracles.GnuWordCount([text]), 10, counted, "the events stream");

        Assert.Equal("canceled", (await stream.EndOfAsync(canceled)).State());
        Assert.False(stream.Saw(before), "a job that ended before the stream opened was sent");
        Assert.All(stream.Events, e => Assert.Equal("end", e));
    }

    [Fact]
    public async Task Many_jobs_ending_at_once_each_come_once()
    {
        await using var stream = await EndsReader.OpenAsync(Client);
        var ids = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
            (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = i % 3 }, shards = 1 + i % 4 })).Id()));
        foreach (var id in ids) Assert.Equal("succeeded", (await stream.EndOfAsync(id)).State());
    }
}

/// <summary>GET /v1/events with tenants: a stream sends its own tenant's ends only; the node's limit on open streams.</summary>
[Collection(RedisCollection.Name)]
public sealed class TenantEventsIsolationTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, Tenancy.Settings(new() { ["JobApi:Limits:MaxEventStreams"] = "2" }))
{
    [Fact]
    public async Task A_stream_sends_its_tenants_ends_and_never_another_tenants()
    {
        var acme = Factory.ClientWithKey(Tenancy.AcmeKey);
        var globex = Factory.ClientWithKey(Tenancy.GlobexKey);
        Assert.Equal(401, (int)(await Factory.CreateClient().GetAsync("/v1/events", HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        await using var acmes = await EndsReader.OpenAsync(acme);
        await using var globexes = await EndsReader.OpenAsync(globex);

        var theirs = (await globex.SubmitAsync(new { kind = "noop", input = new { }, shards = 2 })).Id();
        Assert.Equal("succeeded", (await globexes.EndOfAsync(theirs)).State());
        var ours = (await acme.SubmitAsync(new { kind = "noop", input = new { }, shards = 2 })).Id();
        Assert.Equal("succeeded", (await acmes.EndOfAsync(ours)).State());
        // Ends come in the order they were published, and globex's came first: acme's stream has passed it.
        Assert.False(acmes.Saw(theirs), "acme's stream sent globex's job");
        Assert.False(globexes.Saw(ours), "globex's stream sent acme's job");
    }

    [Fact]
    public async Task A_stream_over_the_nodes_limit_is_refused_with_503_until_one_closes()
    {
        var acme = Factory.ClientWithKey(Tenancy.AcmeKey);
        var first = await EndsReader.OpenAsync(acme);
        await using (await EndsReader.OpenAsync(acme))
        {
            using var refused = await acme.GetAsync("/v1/events", HttpCompletionOption.ResponseHeadersRead);
            var problem = await refused.AssertProblemAsync(503);
            Assert.Equal("urn:jobapi:problem:too-many-event-streams", problem.GetProperty("type").GetString());
            Assert.True(refused.Headers.Contains("Retry-After"));
            await first.DisposeAsync();
            await TestSupport.WaitUntilAsync(async () =>
            {
                using var again = await acme.GetAsync("/v1/events", HttpCompletionOption.ResponseHeadersRead);
                return (int)again.StatusCode == 200;
            }, "a stream to open once another closed");
        }
    }
}

/// <summary>A node that stops ends its tenant events streams at once, rather than wait its shutdown timeout for them.</summary>
[Collection(RedisCollection.Name)]
public sealed class TenantEventsShutdownTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, new Dictionary<string, string?> { ["JobApi:Limits:MaxEventStreams"] = "7" }) // a node of its own
{
    [Fact]
    public async Task Stopping_the_node_ends_its_streams()
    {
        await using var stream = await EndsReader.OpenAsync(Client);
        var lone = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 1 })).Id();
        Assert.Equal("succeeded", (await stream.EndOfAsync(lone)).State());
        Assert.False(stream.Ended.IsCompleted);
        Factory.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().StopApplication();
        await stream.Ended.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
