namespace JobApi.IntegrationTests;

/// <summary>dependsOn: the job waits until its dependencies succeed; one failing or canceled cancels it.</summary>
[Collection(RedisCollection.Name)]
public sealed class DependencyTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task A_dependent_job_waits_for_its_dependencies_then_runs()
    {
        var a = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 400 }, shards = 2 });
        var b = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 100 }, shards = 1 });
        var c = await Client.SubmitAsync(new { kind = "noop", input = new { }, dependsOn = new[] { a.Id(), b.Id() } });
        Assert.Equal("waiting", c.State());
        Assert.Equal([a.Id(), b.Id()], c.GetProperty("dependsOn").EnumerateArray().Select(e => e.GetString()!).ToArray());

        var cDone = await Client.WaitForFinalAsync(c.Id());
        Assert.Equal("succeeded", cDone.State());
        foreach (var dep in new[] { a, b })
        {
            var depDone = await Client.GetJsonAsync($"/v1/jobs/{dep.Id()}");
            Assert.Equal("succeeded", depDone.State());
            Assert.True(cDone.GetProperty("startedAt").AssertUtc("startedAt") >= depDone.GetProperty("finishedAt").AssertUtc("finishedAt"),
                $"{cDone} started before its dependency {depDone} finished");
        }
    }

    [Fact]
    public async Task A_dependency_that_already_succeeded_lets_the_job_run()
    {
        var a = await Client.SubmitAsync(new { kind = "noop", input = new { } });
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(a.Id())).State());
        var b = await Client.SubmitAsync(new { kind = "noop", input = new { }, dependsOn = new[] { a.Id() } });
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(b.Id())).State());
    }

    [Fact]
    public async Task A_failed_dependency_cancels_the_dependent_with_an_error_naming_it()
    {
        var a = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 200, failTimes = 5 }, maxAttempts = 1 });
        var b = await Client.SubmitAsync(new { kind = "noop", input = new { }, dependsOn = new[] { a.Id() } });
        Assert.Equal("failed", (await Client.WaitForFinalAsync(a.Id())).State());
        var bDone = await Client.WaitForFinalAsync(b.Id());
        Assert.Equal("canceled", bDone.State());
        Assert.Contains(a.Id(), bDone.GetProperty("error").GetString());
        Assert.Equal(0, bDone.GetProperty("attempts").GetInt64());
    }

    [Fact]
    public async Task Canceling_the_root_of_a_chain_cancels_every_job_down_the_line()
    {
        var a = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 5000 } });
        var b = await Client.SubmitAsync(new { kind = "noop", input = new { }, dependsOn = new[] { a.Id() } });
        var c = await Client.SubmitAsync(new { kind = "noop", input = new { }, dependsOn = new[] { b.Id() } });
        (await Client.PostAsync($"/v1/jobs/{a.Id()}/cancel", null)).Dispose();
        var bDone = await Client.WaitForFinalAsync(b.Id());
        var cDone = await Client.WaitForFinalAsync(c.Id());
        Assert.Equal("canceled", bDone.State());
        Assert.Contains(a.Id(), bDone.GetProperty("error").GetString());
        Assert.Equal("canceled", cDone.State());
        Assert.Contains(b.Id(), cDone.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Depending_on_an_unknown_job_is_a_400_naming_dependsOn()
    {
        var before = await SnapshotAsync();
        using var response = await PostJobJsonAsync("""{"kind":"noop","input":{},"dependsOn":["01ARZ3NDEKTSV4RRFFQ69G5FAV"]}""");
        (await response.AssertProblemAsync(400)).AssertNamesField("dependsOn");
        await AssertNothingCreatedSinceAsync(before);
    }

    [Fact]
    public async Task A_final_event_names_dependents_only_when_the_job_has_some()
    {
        var events = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var followUps = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var subscriber = Redis.Redis.GetSubscriber();
        Action<StackExchange.Redis.RedisChannel, StackExchange.Redis.RedisValue> handler = (_, message) => events.Enqueue(message!);
        Action<StackExchange.Redis.RedisChannel, StackExchange.Redis.RedisValue> followUp = (_, message) => followUps.Enqueue(message!);
        await subscriber.SubscribeAsync(Keys.EventsChannel, handler);
        await subscriber.SubscribeAsync(Keys.FollowUpChannel, followUp);
        try
        {
            var plain = await Client.SubmitAsync(new { kind = "noop", input = new { } });
            var parent = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 300 } });
            var child = await Client.SubmitAsync(new { kind = "noop", input = new { }, dependsOn = new[] { parent.Id() } });
            foreach (var job in new[] { plain, parent, child }) Assert.Equal("succeeded", (await Client.WaitForFinalAsync(job.Id())).State());
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (events.Count(e => e.StartsWith(child.Id(), StringComparison.Ordinal)) == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
            var finals = events.Select(JobApi.Engine.FinalEvent.Parse).ToList();
            Assert.Contains(finals, e => e.JobId == plain.Id() && !e.Dependents && !e.Webhook);
            Assert.Contains(finals, e => e.JobId == parent.Id() && e.Dependents && !e.Webhook);
            Assert.Contains(finals, e => e.JobId == child.Id() && !e.Dependents && !e.Webhook);
            Assert.Single(finals, e => e.JobId == plain.Id());
            // The events channel also carries each one's short result (the nodes' follow-up channel never does).
            Assert.All(finals.Where(e => e.JobId == plain.Id() || e.JobId == parent.Id() || e.JobId == child.Id()),
                e => Assert.Equal("{\"shards\":1}", e.Result));
            // The nodes' follow-up channel carries the parent's end (it has dependents), not the jobs that simply succeeded.
            Assert.Equal([parent.Id() + "|d"], followUps.Where(e => e.StartsWith(plain.Id(), StringComparison.Ordinal)
                || e.StartsWith(parent.Id(), StringComparison.Ordinal) || e.StartsWith(child.Id(), StringComparison.Ordinal)));
        }
        finally
        {
            await subscriber.UnsubscribeAsync(Keys.EventsChannel, handler);
            await subscriber.UnsubscribeAsync(Keys.FollowUpChannel, followUp);
        }
    }
}
