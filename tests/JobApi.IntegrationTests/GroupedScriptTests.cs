using JobApi.Engine;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace JobApi.IntegrationTests;

/// <summary>
/// On a Redis that is not a cluster, the leases of one round and the commits made at the same time go to Redis as one
/// script call for several jobs (many.lua). Each job must see exactly what its own call would have given: its own
/// shards, its own outcome, its fence checked, its result stored and nothing of another job's. An API-only node (no
/// worker), so the test drives every lease and commit itself.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class GroupedScriptTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, ApiOnly)
{
    [Fact]
    public async Task Leases_and_commits_of_several_jobs_in_one_script_call_each_act_on_their_own_job()
    {
        var one = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 1 })).Id();
        var three = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 3 })).Id();
        var two = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 2 })).Id();
        var canceled = (await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 1 })).Id();
        using (var cancel = await Client.PostAsync($"/v1/jobs/{canceled}/cancel", null)) Assert.Equal(202, (int)cancel.StatusCode);
        var queue = Factory.Services.GetRequiredService<ShardQueue>();
        var before = queue.GroupedCalls;

        var grants = await queue.LeaseAsync([one, three, two, canceled], [1, 2, 2, 1], "worker-a", "token-a");
        Assert.Equal(before.Leases + 1, queue.GroupedCalls.Leases);
        Assert.Equal([one, three, two, canceled], grants.Select(g => g.JobId));
        Assert.Equal([LeaseKind.Shards, LeaseKind.Shards, LeaseKind.Shards, LeaseKind.Finished], grants.Select(g => g.Kind));
        Assert.Equal([1, 2, 2], grants.Take(3).Select(g => g.Shards!.Count));
        Assert.All(grants.Take(3), g => Assert.Equal(1, g.Fence)); // each job's own fence counter
        Assert.Equal([1, 3, 2], grants.Take(3).Select(g => g.Total));
        // Only a lease that holds every shard of its job carries the merge context.
        Assert.NotNull(grants[0].MergeContext);
        Assert.Null(grants[1].MergeContext);
        Assert.NotNull(grants[2].MergeContext);

        // Four commits at once: they queue behind the first and share a script call. One comes with a wrong token.
        // A script that keeps Redis busy for 300 ms, sent first on the node's own connection, holds the first commit's
        // reply back, so the others are queued behind it however slowly this thread runs.
        var busy = Factory.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase().ScriptEvaluateAsync(
            "local t = redis.call('TIME') local until_us = t[1] * 1000000 + t[2] + 300000 " +
            "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= until_us return 1");
        var commits = new[]
        {
            queue.CommitAsync(one, 1, grants[0].StartedAt, "token-a", "worker-a", [(0, "{\"n\":10}")], "{\"one\":1}"),
            queue.CommitAsync(three, 1, grants[1].StartedAt, "token-a", "worker-a", [.. grants[1].Shards!.Select(s => (s.Index, $"{{\"n\":{30 + s.Index}}}"))], null),
            queue.CommitAsync(two, 1, grants[2].StartedAt, "token-b", "worker-b", [(0, "{}"), (1, "{}")], "{\"two\":2}"),
            queue.CommitAsync(two, 1, grants[2].StartedAt, "token-a", "worker-a", [(0, "{\"n\":20}"), (1, "{\"n\":21}")], "{\"two\":2}"),
        };
        var outcomes = await Task.WhenAll(commits);
        await busy;
        Assert.True(queue.GroupedCalls.Commits > before.Commits, "the commits made at once shared a script call");
        Assert.Equal((CommitOutcome.Finished, 0), outcomes[0]);
        Assert.Equal((CommitOutcome.Committed, 0), outcomes[1]);
        Assert.Equal(CommitOutcome.Stale, outcomes[2].Outcome);
        Assert.Equal((CommitOutcome.Finished, 0), outcomes[3]);

        var db = Redis.Redis.GetDatabase();
        // The one-shard job ended under its hold: its short result is in its job hash.
        Assert.Equal("{\"one\":1}", (string?)await db.HashGetAsync(Keys.Job(one).Job, "result"));
        Assert.Equal(1, (await Client.GetJsonAsync($"/v1/jobs/{one}/result")).GetProperty("result").GetProperty("one").GetInt32());
        Assert.Equal("{\"two\":2}", (string?)await db.StringGetAsync(Keys.Job(two).Result));
        Assert.Equal("succeeded", (string?)await db.HashGetAsync(Keys.Job(one).Job, "state"));
        Assert.Equal("succeeded", (string?)await db.HashGetAsync(Keys.Job(two).Job, "state"));
        Assert.Equal(2, (int)await db.HashGetAsync(Keys.Job(two).Job, "commits")); // the wrong token's shards were not counted
        // The 3-shard job holds exactly the two results committed under its lease, and still runs.
        var held = grants[1].Shards!.Select(s => s.Index).ToArray();
        var results = await db.HashGetAllAsync(Keys.Job(three).Results);
        Assert.Equal(held.Order().Select(i => (i.ToString(), $"{{\"n\":{30 + i}}}")),
            results.Select(e => ((string)e.Name!, (string)e.Value!)).OrderBy(e => e.Item1));
        Assert.Equal("running", (string?)await db.HashGetAsync(Keys.Job(three).Job, "state"));
        Assert.Equal("canceled", (string?)await db.HashGetAsync(Keys.Job(canceled).Job, "state"));
    }

    /// <summary>A plain submit (submit_whole.lua: quota, index entries, job, rotation and nudge in one script call) writes
    /// what the submit of several calls writes, the one an idempotency key takes: the same job fields, shards, index
    /// entries, rotation entry and quota ledger entry.</summary>
    [Fact]
    public async Task A_plain_submit_in_one_script_call_writes_what_the_submit_of_several_calls_writes()
    {
        var body = new { kind = "noop", input = new { sleepMs = 1 }, shards = 3, priority = 4, maxAttempts = 2 };
        var whole = (await Client.SubmitAsync(body)).Id();
        var several = (await Client.SubmitAsync(body, idempotencyKey: "several-" + Guid.NewGuid().ToString("N"))).Id();
        var db = Redis.Redis.GetDatabase();

        async Task<Dictionary<string, string>> FieldsAsync(string id) =>
            (await db.HashGetAllAsync(Keys.Job(id).Job)).Where(e => e.Name != "createdAt" && e.Name != "idem")
                .ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        var fields = await FieldsAsync(whole);
        Assert.Equal("queued", fields["state"]);
        Assert.Equal(await FieldsAsync(several), fields);
        Assert.Equal(["0", "1", "2"], (await db.ListRangeAsync(Keys.Job(whole).Ready)).Select(v => (string)v!));
        Assert.Equal(await db.ListRangeAsync(Keys.Job(several).Ready), await db.ListRangeAsync(Keys.Job(whole).Ready));

        var tenant = Keys.Tenant(fields["tenant"]);
        foreach (var index in new[] { Keys.JobIndex(0), Keys.Pending(0), tenant.Jobs, Keys.ActiveBand(0, 4) })
        {
            Assert.True(await db.SortedSetScoreAsync(index, whole) is not null, $"{index} lacks the job");
            Assert.True(await db.SortedSetScoreAsync(index, several) is not null, $"{index} lacks the other job");
        }
        Assert.True(await db.SetContainsAsync(Keys.TenantSet, fields["tenant"]));
        Assert.Contains(4.0, (await db.SortedSetRangeByRankWithScoresAsync(Keys.ActiveBands(0))).Select(e => e.Score));
        var ledger = await db.HashGetAsync(tenant.Open, whole);
        Assert.False(ledger.IsNull, "the quota ledger lacks the job");
        Assert.Equal(await db.HashGetAsync(tenant.Open, several), ledger);
    }
}
