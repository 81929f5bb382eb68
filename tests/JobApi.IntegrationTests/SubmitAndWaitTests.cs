using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using JobApi.Engine;
using JobApi.JobKinds;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace JobApi.IntegrationTests;

/// <summary>POST /v1/jobs with <c>Prefer: wait=N</c> (RFC 7240): the answer is the result when the job succeeds in time,
/// otherwise the usual 202 with the status then; a one-shard job submitted where the node's own worker is idle, which
/// that worker holds from the submit on (no nudge, no lease round trip); and such a job of a kind that is short there,
/// waited for or not, whose shard runs in the submit and whose commit goes with it.</summary>
[Collection(RedisCollection.Name)]
public sealed class SubmitAndWaitTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private async Task<HttpResponseMessage> SubmitAsync(object body, string? prefer, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = JsonContent.Create(body) };
        if (prefer is not null) request.Headers.TryAddWithoutValidation("Prefer", prefer);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await Client.SendAsync(request);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var content) ? string.Join(",", content) : null;

    [Fact]
    public async Task Prefer_wait_answers_200_with_the_result_once_the_job_succeeded()
    {
        using var response = await SubmitAsync(new { kind = "noop", input = new { sleepMs = 200 }, shards = 1 }, "wait=10");
        Assert.Equal(200, (int)response.StatusCode);
        var body = await response.ReadJsonAsync();
        var id = body.Id();
        Assert.Equal("noop", body.GetProperty("kind").GetString());
        Assert.Equal(1, body.GetProperty("result").GetProperty("shards").GetInt32());
        Assert.Equal("wait=10", Header(response, "Preference-Applied"));
        Assert.Equal($"/v1/jobs/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal($"/v1/jobs/{id}/result", Header(response, "Content-Location"));
        // The job as the other endpoints see it agrees.
        Assert.Equal("succeeded", (await Client.GetJsonAsync($"/v1/jobs/{id}")).State());
        Assert.Equal(body.GetProperty("result").GetRawText(), (await Client.GetJsonAsync($"/v1/jobs/{id}/result")).GetProperty("result").GetRawText());
    }

    [Fact]
    public async Task Prefer_wait_on_a_job_of_many_shards_answers_its_merged_result()
    {
        using var response = await SubmitAsync(new { kind = "primes", input = new { from = 0, to = 1_000_000 }, shards = 8 }, "respond-async, wait=30");
        Assert.Equal(200, (int)response.StatusCode);
        var result = (await response.ReadJsonAsync()).GetProperty("result");
        Assert.Equal(78_498, result.GetProperty("count").GetInt64()); // pi(10^6), a published value
    }

    [Fact]
    public async Task Prefer_wait_reads_back_a_result_too_long_for_the_final_event()
    {
        var seed = Environment.TickCount;
        var text = Oracles.RandomAsciiText(new Random(seed), 4_000);
        using var response = await SubmitAsync(new { kind = "wordcount", input = new { text, top = 50 }, shards = 1 }, "wait=30");
        Assert.Equal(200, (int)response.StatusCode);
        var result = (await response.ReadJsonAsync()).GetProperty("result");
        Assert.True(result.GetRawText().Length > 256, "the result should be longer than a final event carries");
        Oracles.AssertWordCount(Oracles.GnuWordCount([text]), 50, result, $"seed {seed}");
    }

    [Fact]
    public async Task Prefer_wait_shorter_than_the_job_answers_202_with_the_status_when_the_time_is_up()
    {
        using var response = await SubmitAsync(new { kind = "noop", input = new { sleepMs = 30_000 }, shards = 1 }, "wait=1");
        Assert.Equal(202, (int)response.StatusCode);
        var status = await response.ReadJsonAsync();
        Assert.Contains(status.State(), new[] { "queued", "running" });
        Assert.Equal("wait=1", Header(response, "Preference-Applied"));
        Assert.Equal($"/v1/jobs/{status.Id()}", response.Headers.Location?.OriginalString);
        (await Client.PostAsync($"/v1/jobs/{status.Id()}/cancel", null)).Dispose();
    }

    [Fact]
    public async Task Prefer_wait_holds_the_answer_past_a_delayed_start_until_the_job_succeeds()
    {
        // The job is waiting for its delay when the submit returns from Redis: a 200 with its result shows the answer waited.
        using var response = await SubmitAsync(new { kind = "noop", input = new { }, shards = 1, delaySeconds = 1 }, "wait=20");
        Assert.Equal(200, (int)response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(1, body.GetProperty("result").GetProperty("shards").GetInt32());
        var status = await Client.GetJsonAsync($"/v1/jobs/{body.Id()}");
        Assert.Equal("succeeded", status.State());
        Assert.Equal(JsonValueKind.String, status.GetProperty("runAt").ValueKind); // it was a delayed job
    }

    [Fact]
    public async Task Prefer_wait_on_a_job_that_fails_answers_202_with_the_failed_status_and_its_error()
    {
        using var response = await SubmitAsync(new { kind = "noop", input = new { failTimes = 5 }, shards = 1, maxAttempts = 1 }, "wait=30");
        Assert.Equal(202, (int)response.StatusCode);
        var status = await response.ReadJsonAsync();
        Assert.Equal("failed", status.State());
        Assert.Contains("failed after 1 attempt", status.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_wait_over_the_limit_is_cut_to_it_and_a_preference_it_cannot_read_is_ignored()
    {
        using (var capped = await SubmitAsync(new { kind = "noop", input = new { }, shards = 1 }, "wait=100000"))
        {
            Assert.Equal(200, (int)capped.StatusCode);
            Assert.Equal("wait=60", Header(capped, "Preference-Applied")); // JobApi:Limits:MaxWaitSeconds
        }
        foreach (var prefer in new[] { "wait=abc", "wait=-3", "wait", "wait=0", "handling=strict" })
        {
            using var plain = await SubmitAsync(new { kind = "noop", input = new { sleepMs = 5_000 }, shards = 1 }, prefer);
            Assert.Equal(202, (int)plain.StatusCode);
            Assert.Null(Header(plain, "Preference-Applied"));
            (await Client.PostAsync($"/v1/jobs/{(await plain.ReadJsonAsync()).Id()}/cancel", null)).Dispose();
        }
        using var invalid = await SubmitAsync(new { kind = "noop", input = new { sleepMs = -1 } }, "wait=5");
        await invalid.AssertProblemAsync(400); // validation comes first, waited or not
    }

    [Fact]
    public async Task Prefer_wait_with_a_replayed_idempotency_key_waits_for_the_first_job()
    {
        var key = Guid.NewGuid().ToString("N");
        var body = new { kind = "noop", input = new { sleepMs = 300 }, shards = 2 };
        using var first = await SubmitAsync(body, null, key);
        Assert.Equal(202, (int)first.StatusCode);
        var id = (await first.ReadJsonAsync()).Id();
        using var again = await SubmitAsync(body, "wait=30", key);
        Assert.Equal(200, (int)again.StatusCode);
        Assert.Equal("true", Header(again, "Idempotent-Replayed"));
        var answer = await again.ReadJsonAsync();
        Assert.Equal(id, answer.Id());
        Assert.Equal(2, answer.GetProperty("result").GetProperty("shards").GetInt32());
    }

    /// <summary>Submits one-shard noop jobs until one is held by the idle worker of this node from its submit on (the
    /// first submits may come before the worker has started).</summary>
    private async Task<JsonElement> SubmitHeldAsync(object input)
    {
        for (var attempt = 0; ; attempt++)
        {
            var status = await Client.SubmitAsync(new { kind = "noop", input, shards = 1 });
            if (status.State() == "running") return status;
            Assert.True(attempt < 50, $"no submit was held by the node's idle worker: {status}");
            await Client.WaitForFinalAsync(status.Id());
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_lone_job_submitted_where_the_worker_is_idle_starts_in_its_submit_and_wakes_no_other_worker()
    {
        var nudges = new ConcurrentQueue<string>();
        var subscriber = Redis.Redis.GetSubscriber();
        Action<RedisChannel, RedisValue> handler = (_, message) => nudges.Enqueue(message!);
        await subscriber.SubscribeAsync(Keys.NudgeChannel, handler);
        try
        {
            var status = await SubmitHeldAsync(new { sleepMs = 50 });
            var id = status.Id();
            Assert.Equal(1, status.GetProperty("shards").GetProperty("running").GetInt32());
            Assert.Equal(0, status.GetProperty("shards").GetProperty("queued").GetInt32());
            Assert.Equal(JsonValueKind.String, status.GetProperty("startedAt").ValueKind);
            var final = await Client.WaitForFinalAsync(id);
            Assert.Equal("succeeded", final.State());
            Assert.Equal(1, final.GetProperty("attempts").GetInt64());
            var job = Redis.Redis.GetDatabase().HashGetAll(Keys.Job(id).Job).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
            Assert.Equal("1", job["commits"]);
            Assert.Equal("1", job["fence"]); // its one lease, the hold the submit took
            await Task.Delay(200); // a nudge published with the job would have come by now
            Assert.DoesNotContain(id, nudges);
        }
        finally
        {
            await subscriber.UnsubscribeAsync(Keys.NudgeChannel, handler);
        }
    }

    /// <summary>Submits lone noop jobs through the engine until one ends within its submit (the
    /// kind is run ahead only once the worker has timed it as short).</summary>
    private async Task<SubmitOutcome> SubmitEndedAsync(object input)
    {
        for (var attempt = 0; ; attempt++)
        {
            var outcome = await SubmitNoopThroughEngineAsync(input);
            if (outcome.Result is not null) return outcome;
            Assert.True(attempt < 50, $"no submit ended its job within it: {outcome.Status}");
            await Client.WaitForFinalAsync(outcome.Status!.Id);
            await Task.Delay(50);
        }
    }

    /// <summary>A lone noop job submitted through the engine (JobStore.SubmitAsync), as the API does it.</summary>
    private async Task<SubmitOutcome> SubmitNoopThroughEngineAsync(object input)
    {
        Assert.True(Factory.Services.GetRequiredService<JobKindRegistry>().TryGet("noop", out var noop));
        var json = JsonSerializer.SerializeToElement(input);
        var plan = await noop.PlanAsync(json, 1, 1000, "default");
        return await Factory.Services.GetRequiredService<JobStore>().SubmitAsync("default", "noop", json, 1, 3, plan, null);
    }

    [Fact]
    public async Task A_lone_short_job_runs_in_its_submit_and_ends_with_it()
    {
        var ended = await SubmitEndedAsync(new { });
        var id = ended.Status!.Id;
        Assert.True(ended.Created);
        Assert.Equal("succeeded", ended.Status.State);
        Assert.Equal(1, ended.Status.Shards.Succeeded);
        Assert.Equal(1, ended.Status.Attempts);
        Assert.Equal("{\"shards\":1}", ended.Result!.Json);
        // What the other endpoints read agrees: one attempt, committed once under the hold the submit took (fence 1).
        var status = await Client.GetJsonAsync($"/v1/jobs/{id}");
        Assert.Equal("succeeded", status.State());
        Assert.Equal(1, status.GetProperty("attempts").GetInt64());
        Assert.Equal(1, (await Client.GetJsonAsync($"/v1/jobs/{id}/result")).GetProperty("result").GetProperty("shards").GetInt32());
        var job = Redis.Redis.GetDatabase().HashGetAll(Keys.Job(id).Job).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
        Assert.Equal("1", job["commits"]);
        Assert.Equal("1", job["fence"]);
        Assert.Equal("", job["hold"]);
        // Ended in its submit's script, it never joined the index of unfinished jobs or the rotation.
        Assert.Null(Redis.Redis.GetDatabase().SortedSetScore(Keys.Pending(0), id));
        Assert.Null(Redis.Redis.GetDatabase().SortedSetScore(Keys.ActiveBand(0, 0), id));

        // Over HTTP without Prefer: the 202 reports the job as it is, already succeeded, and its result is there at once.
        using (var plain = await SubmitAsync(new { kind = "noop", input = new { }, shards = 1 }, prefer: null))
        {
            Assert.Equal(202, (int)plain.StatusCode);
            var accepted = await plain.ReadJsonAsync();
            Assert.Equal("succeeded", accepted.State());
            Assert.Equal($"/v1/jobs/{accepted.Id()}", plain.Headers.Location?.OriginalString);
            Assert.NotEqual(JsonValueKind.Null, accepted.GetProperty("finishedAt").ValueKind);
            var result = await Client.GetJsonAsync($"/v1/jobs/{accepted.Id()}/result");
            Assert.Equal(1, result.GetProperty("result").GetProperty("shards").GetInt32());
            Assert.Equal("1", (string?)Redis.Redis.GetDatabase().HashGet(Keys.Job(accepted.Id()).Job, "commits"));
        }

        // Over HTTP: the 200 of a waiting submit carries the result; the job it names ended with one commit.
        using var response = await SubmitAsync(new { kind = "noop", input = new { }, shards = 1 }, "wait=10");
        Assert.Equal(200, (int)response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(1, body.GetProperty("result").GetProperty("shards").GetInt32());
        Assert.Equal("1", (string?)Redis.Redis.GetDatabase().HashGet(Keys.Job(body.Id()).Job, "commits"));
    }

    [Fact]
    public async Task A_shard_that_throws_when_run_ahead_is_left_to_the_worker_which_records_the_failed_attempt()
    {
        await SubmitEndedAsync(new { });
        // Fails on its first attempt: the run ahead throws, the job is written held and the worker runs attempt 1 (which
        // fails and is recorded), then attempt 2 succeeds.
        var outcome = await SubmitNoopThroughEngineAsync(new { failTimes = 1 });
        Assert.Null(outcome.Result);
        Assert.True(outcome.Created);
        var final = await Client.WaitForFinalAsync(outcome.Status!.Id);
        Assert.Equal("succeeded", final.State());
        Assert.Equal(2, final.GetProperty("attempts").GetInt64());
        var shard = (await Client.GetJsonAsync($"/v1/jobs/{outcome.Status.Id}/shards")).GetProperty("items")[0];
        Assert.Equal(2, shard.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task A_lone_shard_that_awaits_is_not_run_in_its_submit_but_by_the_worker_under_its_hold()
    {
        await SubmitEndedAsync(new { });
        // noop is short here now, but this shard sleeps: started ahead, it does not finish at once, so it is stopped and
        // the job takes the held path. The plain submit answers while it runs; a waiting one honours its own wait.
        using (var plain = await SubmitAsync(new { kind = "noop", input = new { sleepMs = 1500 }, shards = 1 }, prefer: null))
        {
            Assert.Equal(202, (int)plain.StatusCode);
            var accepted = await plain.ReadJsonAsync();
            Assert.Contains(accepted.State(), new[] { "running", "queued" });
            var final = await Client.WaitForFinalAsync(accepted.Id());
            Assert.Equal("succeeded", final.State());
            // The stopped run ahead is no attempt: the worker's run is the first and only one.
            Assert.Equal(1, final.GetProperty("attempts").GetInt64());
            Assert.Equal("1", (string?)Redis.Redis.GetDatabase().HashGet(Keys.Job(accepted.Id()).Job, "commits"));
        }
        await SubmitEndedAsync(new { });
        using var waited = await SubmitAsync(new { kind = "noop", input = new { sleepMs = 4000 }, shards = 1 }, "wait=1");
        Assert.Equal(202, (int)waited.StatusCode);
        Assert.Equal("wait=1", Header(waited, "Preference-Applied"));
        var status = await waited.ReadJsonAsync();
        Assert.Equal("running", status.State());
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(status.Id())).State());
    }

    [Fact]
    public async Task A_busy_worker_is_not_given_new_jobs_in_their_submit_and_jobs_of_many_shards_never_are()
    {
        var busy = await SubmitHeldAsync(new { sleepMs = 3_000 });
        // The worker runs the sleeping shard: the next lone job is queued for any worker, and still runs.
        var next = await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 1 });
        Assert.Equal("queued", next.State());
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(next.Id())).State());
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(busy.Id())).State());
        await Task.Delay(200);
        var many = await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 2 });
        Assert.Equal("queued", many.State());
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(many.Id())).State());
    }

    private RecentResults Recent => Factory.Services.GetRequiredService<RecentResults>();

    [Fact]
    public async Task The_result_of_a_job_that_ended_in_its_submit_is_read_once_from_this_node_then_from_Redis()
    {
        var ended = await SubmitEndedAsync(new { });
        var id = ended.Status!.Id;
        Assert.True(Recent.Holds(id));
        var stored = (string?)await Redis.Redis.GetDatabase().HashGetAsync(Keys.Job(id).Job, "result");
        Assert.Equal(ended.Result!.Json, stored);
        // Both reads agree with what Redis holds: the first one is answered from this node and takes the entry...
        var first = await Client.GetJsonAsync($"/v1/jobs/{id}/result?waitSeconds=5");
        Assert.False(Recent.Holds(id));
        var second = await Client.GetJsonAsync($"/v1/jobs/{id}/result");
        Assert.Equal(first.GetRawText(), second.GetRawText());
        Assert.Equal(id, first.Id());
        Assert.Equal("noop", first.GetProperty("kind").GetString());
        Assert.Equal(stored, first.GetProperty("result").GetRawText());

        // ...which the job's keys, removed here behind the service's back, tell apart: the first read of another such
        // job still has its result, the next one goes to Redis and finds no job.
        var other = (await SubmitEndedAsync(new { })).Status!.Id;
        Assert.True(await Redis.Redis.GetDatabase().KeyDeleteAsync(Keys.Job(other).Job));
        Assert.Equal(1, (await Client.GetJsonAsync($"/v1/jobs/{other}/result")).GetProperty("result").GetProperty("shards").GetInt32());
        using var gone = await Client.GetAsync($"/v1/jobs/{other}/result");
        await gone.AssertProblemAsync(404);
    }

    [Fact]
    public async Task A_job_that_ended_in_its_submit_and_was_deleted_has_no_result_on_any_node()
    {
        // Deleted through this node: what it kept goes with the delete.
        var here = (await SubmitEndedAsync(new { })).Status!.Id;
        using (var deleted = await Client.DeleteAsync($"/v1/jobs/{here}")) Assert.Equal(204, (int)deleted.StatusCode);
        Assert.False(Recent.Holds(here));
        using (var read = await Client.GetAsync($"/v1/jobs/{here}/result")) await read.AssertProblemAsync(404);

        // Kept by another node on the same Redis: the delete's event reaches it, drops its entry and wakes its waiters.
        var ended = await SubmitEndedAsync(new { });
        var id = ended.Status!.Id;
        var kept = new RecentResults(Microsoft.Extensions.Options.Options.Create(new JobApi.Options.JobApiOptions()));
        await using var there = new JobEvents(Redis.Redis, Keys, kept);
        Assert.True(await there.ProbeAsync(TimeSpan.FromSeconds(5)));
        kept.Remember(ended.Status, ended.Result!, null);
        using var waiting = await there.WatchAsync(id);
        using (var deleted = await Client.DeleteAsync($"/v1/jobs/{id}")) Assert.Equal(204, (int)deleted.StatusCode);
        var woken = await waiting.Signal.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(woken!.Value.Deleted);
        Assert.Null(woken.Value.Result);
        Assert.False(kept.Holds(id));
    }

    [Fact]
    public async Task The_result_of_a_one_shard_job_submitted_here_comes_with_its_final_event_and_is_read_once_from_this_node()
    {
        // A shard that sleeps is never run in the submit: the job ends by its worker's commit, and its final event
        // carries the result.
        var id = (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 50 }, shards = 1 })).Id();
        var db = Redis.Redis.GetDatabase();
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); !Recent.Holds(id) && clock.Elapsed < TimeSpan.FromSeconds(10);)
            await Task.Delay(10);
        Assert.True(Recent.Holds(id), "the final event's result was not kept");
        Assert.Equal("succeeded", (string?)await db.HashGetAsync(Keys.Job(id).Job, "state"));
        var stored = (string?)await db.StringGetAsync(Keys.Job(id).Result) ?? (string?)await db.HashGetAsync(Keys.Job(id).Job, "result");
        // The first read is answered here and takes the entry; the next one reads Redis: both as Redis holds it.
        var first = await Client.GetJsonAsync($"/v1/jobs/{id}/result?waitSeconds=5");
        Assert.False(Recent.Holds(id));
        var second = await Client.GetJsonAsync($"/v1/jobs/{id}/result");
        Assert.Equal(first.GetRawText(), second.GetRawText());
        Assert.Equal(stored, first.GetProperty("result").GetRawText());
        Assert.Equal(1, first.GetProperty("result").GetProperty("shards").GetInt32());

        // Only one-shard jobs are expected: a job of many shards is read from Redis as before.
        var many = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 2 })).Id();
        Assert.False(Recent.Expects(many));
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(many)).State());
        Assert.False(Recent.Holds(many));

        // A submit that waits (Prefer: wait) takes the result from the event itself: nothing is kept for it.
        using var waited = await SubmitAsync(new { kind = "noop", input = new { sleepMs = 50 }, shards = 1 }, "wait=10");
        Assert.Equal(200, (int)waited.StatusCode);
        var waitedId = (await waited.Content.ReadFromJsonAsync<JsonElement>()).Id();
        Assert.False(Recent.Holds(waitedId) || Recent.Expects(waitedId));
    }

    [Fact]
    public async Task A_read_waiting_on_a_job_submitted_here_ends_with_its_final_event_and_a_lost_event_costs_at_most_the_entrys_life()
    {
        // Read at once: the job (its shard sleeps, so it is not run in the submit) is still open, and its final event
        // brings the result to the waiting read; whichever comes first, the answer is what Redis holds.
        var id = (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 300 }, shards = 1 })).Id();
        var read = await Client.GetJsonAsync($"/v1/jobs/{id}/result?waitSeconds=10");
        Assert.False(Recent.Holds(id) || Recent.Expects(id));
        var db = Redis.Redis.GetDatabase();
        var stored = (string?)await db.StringGetAsync(Keys.Job(id).Result) ?? (string?)await db.HashGetAsync(Keys.Job(id).Job, "result");
        Assert.Equal(stored, read.GetProperty("result").GetRawText());

        // A job whose end this node heard before the submit's reply was handled here (it ended at once on another
        // node's worker) is not expected: its read goes to Redis at once instead of waiting for an end that has passed.
        var ended = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 2 })).Id();
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(ended)).State());
        Recent.Take(ended);
        var open = new JobStatus(ended, "noop", JobStates.Queued, new ShardCounts(2, 2, 0, 0, 0), 0, 0, DateTime.UtcNow, null, null, null);
        Recent.Expect(open, null);
        Assert.False(Recent.Expects(ended));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var soon = await Client.GetJsonAsync($"/v1/jobs/{ended}/result?waitSeconds=30");
        Assert.Equal(2, soon.GetProperty("result").GetProperty("shards").GetInt32());
        Assert.True(clock.Elapsed < RecentResults.MaxLife * 0.75, $"the read waited {clock.Elapsed} for an end that had passed");

        // A job expected here whose final event never comes (its end noted here so long ago that the note is gone, as
        // if the event had been lost): the waiting read trusts the event only for the entry's life, then reads the job.
        for (var i = 0; i < RecentResults.EndsNoted; i++) Recent.Ended(JobId.New(), null);
        Recent.Expect(open, null);
        Assert.True(Recent.Expects(ended));
        clock.Restart();
        var late = await Client.GetJsonAsync($"/v1/jobs/{ended}/result?waitSeconds=30");
        Assert.Equal(2, late.GetProperty("result").GetProperty("shards").GetInt32());
        Assert.InRange(clock.Elapsed, RecentResults.MaxLife - TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(25));
    }

    [Fact]
    public async Task A_job_that_ends_in_its_submit_is_checked_against_the_caps_but_never_counted()
    {
        var tenant = Keys.Tenant("default");
        var db = Redis.Redis.GetDatabase();
        var ended = await SubmitEndedAsync(new { });
        // Never open, so it holds no share of the tenant's caps: no ledger entry, nothing for the sweep to release.
        Assert.False(await db.HashExistsAsync(tenant.Open, ended.Status!.Id));

        // A tenant over its cap of unfinished jobs: the same submit (its shard runs first, as the one before it did:
        // the worker is idle and the kind short here) is refused, and writes nothing.
        // (A ledger entry for a job about to be submitted: recent and not final, so no settle releases it.)
        var holder = JobId.New();
        var quota = Factory.Services.GetRequiredService<TenantQuota>();
        await db.HashSetAsync(tenant.Open, holder, "0|0|1000000000");
        await db.HashIncrementAsync(tenant.Usage, "jobs", 1_000_000_000);
        try
        {
            var before = (await KeysAsync("{*}:job")).Count;
            var refused = await SubmitNoopThroughEngineAsync(new { });
            Assert.Equal("JobApi:Limits:MaxRunningJobsPerTenant", refused.Quota?.Limit);
            Assert.Null(refused.Status);
            Assert.Equal(before, (await KeysAsync("{*}:job")).Count);
        }
        finally
        {
            Assert.Equal(1, await quota.ReleaseAsync("default", [holder]));
        }
    }
}
