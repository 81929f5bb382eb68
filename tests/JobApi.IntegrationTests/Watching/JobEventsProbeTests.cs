using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.IntegrationTests.Watching;

/// <summary>The start-up probe of the job events subscription, against a real Redis: the probe's own event comes back
/// through the subscription, and it wakes no request that waits for a job, on this node or another.</summary>
[Collection(RedisCollection.Name)]
public sealed class JobEventsProbeTests(RedisServerFixture redis)
{
    [Fact]
    public async Task A_probe_comes_back_through_the_subscription_and_wakes_no_job_waiter()
    {
        var keys = new RedisKeys($"probe-{Guid.NewGuid():N}");
        await using var here = new JobEvents(redis.Redis, keys);
        await using var other = new JobEvents(redis.Redis, keys); // another node on the same Redis and prefix
        var job = JobId.New();
        using var waitingHere = await here.WatchAsync(job);
        using var waitingThere = await other.WatchAsync(job);

        Assert.True(await here.ProbeAsync(TimeSpan.FromSeconds(5)));
        Assert.True(await other.ProbeAsync(TimeSpan.FromSeconds(5)));
        Assert.False(waitingHere.Signal.IsCompleted, "a probe woke a request waiting for a job");
        Assert.False(waitingThere.Signal.IsCompleted, "a probe woke another node's waiting request");

        // The subscription the probe made is the one waits use: a job's final event still arrives.
        await redis.Redis.GetDatabase().PublishAsync(keys.EventsChannel, RedisValue.Unbox($"{job}||{{\"n\":1}}"));
        var final = await waitingHere.Signal.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(job, final!.Value.JobId);
        Assert.Equal("{\"n\":1}", final.Value.Result);
        Assert.Equal(job, (await waitingThere.Signal.WaitAsync(TimeSpan.FromSeconds(5)))!.Value.JobId);
    }

    [Fact]
    public async Task A_probe_that_does_not_come_back_reports_it()
    {
        // A node that is no longer subscribed (disposed: it unsubscribed and does not subscribe again) never gets its
        // probe back: the probe says so when its time is up, it does not throw or hang.
        var keys = new RedisKeys($"probe-{Guid.NewGuid():N}");
        var events = new JobEvents(redis.Redis, keys);
        Assert.True(await events.ProbeAsync(TimeSpan.FromSeconds(5)));
        await events.DisposeAsync(); // unsubscribed; the next probe's watch does not subscribe again
        Assert.False(await events.ProbeAsync(TimeSpan.FromMilliseconds(300)));
    }
}
