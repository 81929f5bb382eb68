namespace JobApi.IntegrationTests.Watching;

/// <summary>Progress messages of jobs that start: a worker tells the progress channel (and so every API node and event
/// stream) that a job started only once it has run for <c>JobApi:Worker:ProgressStartDelay</c>.</summary>
[Collection(RedisCollection.Name)]
public sealed class ProgressStartTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service, new Dictionary<string, string?>
{
    ["JobApi:Worker:ProgressStartDelay"] = "00:00:03",
})
{
    /// <summary>A job that ends within the delay (3 s here) is told by its final event alone; a longer one is told
    /// while it runs.</summary>
    [Fact]
    public async Task A_job_that_ends_at_once_costs_no_progress_message_and_a_longer_one_is_told_while_it_runs()
    {
        var heard = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var subscriber = Redis.Redis.GetSubscriber();
        var channel = Keys.ProgressChannel;
        await subscriber.SubscribeAsync(channel, (_, message) => heard.Enqueue(message!));
        try
        {
            var quick = (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 1 })).Id();
            Assert.Equal("succeeded", (await Client.WaitForFinalAsync(quick)).State());
            var slow = (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 4500 }, shards = 1 })).Id();
            await TestSupport.WaitUntilAsync(() => Task.FromResult(heard.Contains(slow)), "a progress message for the job that runs 4.5 s",
                TimeSpan.FromSeconds(10));
            Assert.Equal("running", (await Client.GetJsonAsync($"/v1/jobs/{slow}")).State());
            // The quick job ended well within the start delay: only its final event told of it.
            Assert.DoesNotContain(quick, heard);
        }
        finally
        {
            await subscriber.UnsubscribeAsync(channel);
        }
    }

    /// <summary>Starts are told by one timer: each start still running after the delay is told once; one
    /// that ended first is not; and starts after the publisher is disposed (the process stopping) are dropped quietly.</summary>
    [Fact]
    public async Task Starts_that_outlast_the_delay_are_told_once_each_and_none_after_disposal()
    {
        var heard = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var subscriber = Redis.Redis.GetSubscriber();
        var keys = new JobApi.Engine.RedisKeys($"{Factory.KeyPrefix}-starts");
        await subscriber.SubscribeAsync(keys.ProgressChannel, (_, message) => heard.Enqueue(message!));
        try
        {
            var options = Microsoft.Extensions.Options.Options.Create(new JobApi.Options.JobApiOptions());
            options.Value.Worker.ProgressStartDelay = TimeSpan.FromMilliseconds(200);
            var publisher = new JobApi.Engine.ProgressPublisher(Redis.Redis, keys, options);
            string[] ids = ["a", "b", "c", "ended"];
            foreach (var id in ids) publisher.Started(id);
            publisher.Forget("ended");
            await TestSupport.WaitUntilAsync(() => Task.FromResult(heard.Count >= 3), "three start messages", TimeSpan.FromSeconds(5));
            publisher.Started("late"); // a second round of the same timer
            await TestSupport.WaitUntilAsync(() => Task.FromResult(heard.Contains("late")), "the later start", TimeSpan.FromSeconds(5));
            await Task.Delay(300);
            Assert.Equal(["a", "b", "c", "late"], heard.Order(StringComparer.Ordinal)); // the subscriber's handlers may run out of order

            publisher.Started("during-stop");
            publisher.Dispose();
            publisher.Started("after-stop");
            await Task.Delay(400);
            Assert.DoesNotContain("after-stop", heard);
        }
        finally
        {
            await subscriber.UnsubscribeAsync(keys.ProgressChannel);
        }
    }
}
