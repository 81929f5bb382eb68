namespace JobApi.IntegrationTests.Watching;

/// <summary>GET /v1/jobs/{id}/events: order, completeness (never a lost final event), resuming, errors.</summary>
[Collection(RedisCollection.Name)]
public sealed class EventsTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task Every_watcher_of_every_job_sees_increasing_ids_and_ends_with_the_final_state_under_load()
    {
        const int jobs = 6, watchers = 4, shards = 60;
        var ids = await Task.WhenAll(Enumerable.Range(0, jobs).Select(async _ =>
            (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 2 }, shards })).Id()));
        var streams = ids.SelectMany(id => Enumerable.Range(0, watchers).Select(async _ => (id, messages: await SseReader.ReadAsync(Client, id)))).ToList();
        foreach (var (id, messages) in await Task.WhenAll(streams))
        {
            SseReader.AssertCompleteStream(messages, "succeeded", shards);
            var final = messages[^1].Data;
            Assert.Equal(id, final.Id());
            Assert.Equal(1.0, final.GetProperty("progress").GetDouble());
            Assert.Equal(shards, final.GetProperty("shards").GetProperty("succeeded").GetInt32());
        }
    }

    [Fact]
    public async Task A_stream_opened_after_the_job_finished_sends_the_final_state_and_ends()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 3 });
        await Client.WaitForFinalAsync(job.Id());
        var messages = await SseReader.ReadAsync(Client, job.Id());
        var only = Assert.Single(messages);
        Assert.Equal("state", only.Event);
        Assert.Equal("succeeded", only.State);
    }

    [Fact]
    public async Task A_failed_job_stream_ends_with_the_failed_state_and_its_error()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 5 }, shards = 2, maxAttempts = 1 });
        var messages = await SseReader.ReadAsync(Client, job.Id());
        SseReader.AssertCompleteStream(messages, "failed", 2);
        Assert.Contains("planned failure", messages[^1].Data.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Resuming_with_Last_Event_ID_sends_only_later_events_and_still_ends_with_the_final_state()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 150 }, shards = 12 });
        var first = await SseReader.ReadAsync(Client, job.Id(), stopAfter: 2);
        var seen = first[^1].Id;
        var rest = await SseReader.ReadAsync(Client, job.Id(), lastEventId: seen);
        Assert.All(rest, m => Assert.True(m.Id > seen, $"id {m.Id} was not after {seen}"));
        Assert.Equal("state", rest[^1].Event);
        Assert.Equal("succeeded", rest[^1].State);

        // Resuming after the final event gets the final event again, so a reconnecting client always learns the end.
        var again = await SseReader.ReadAsync(Client, job.Id(), lastEventId: rest[^1].Id);
        Assert.Equal("succeeded", Assert.Single(again).State);
    }

    [Fact]
    public async Task A_canceled_job_stream_ends_with_the_canceled_state()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 60000 }, shards = 2 });
        var reading = SseReader.ReadAsync(Client, job.Id());
        await Client.PostAsync($"/v1/jobs/{job.Id()}/cancel", null);
        var messages = await reading;
        Assert.Equal("canceled", messages[^1].State);
        Assert.Equal("state", messages[^1].Event);
    }

    [Fact]
    public async Task A_delayed_job_stream_starts_waiting_then_moves_on_with_a_state_event_and_ends_succeeded()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 100 }, shards = 3, delaySeconds = 1 });
        var messages = await SseReader.ReadAsync(Client, job.Id());
        SseReader.AssertCompleteStream(messages, "succeeded", 3);
        Assert.Equal("waiting", messages[0].State);
        Assert.Equal(job.GetProperty("runAt").GetString(), messages[0].Data.GetProperty("runAt").GetString());
        var left = messages.FindIndex(m => m.State != "waiting");
        Assert.Equal("state", messages[left].Event);
        Assert.Contains(messages[left].State, new[] { "queued", "running", "succeeded" });
    }

    [Fact]
    public async Task A_dependent_job_stream_goes_from_waiting_to_canceled_when_its_dependency_fails()
    {
        var dependency = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 300, failTimes = 5 }, shards = 1, maxAttempts = 1 });
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { }, dependsOn = new[] { dependency.Id() } });
        var messages = await SseReader.ReadAsync(Client, job.Id());
        SseReader.AssertCompleteStream(messages, "canceled", 1);
        Assert.Equal("waiting", messages[0].State);
        Assert.All(messages[..^1], m => Assert.Equal("waiting", m.State));
        Assert.Contains(dependency.Id(), messages[^1].Data.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Events_of_an_unknown_job_are_404_and_a_bad_Last_Event_ID_is_400()
    {
        var missing = await Client.GetAsync("/v1/jobs/01M8AG73CVN8X191GNX9ADHY5V/events");
        await missing.AssertProblemAsync(404);
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 1 });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{job.Id()}/events");
        request.Headers.Add("Last-Event-ID", "abc");
        (await (await Client.SendAsync(request)).AssertProblemAsync(400)).AssertNamesField("Last-Event-ID");
    }
}
