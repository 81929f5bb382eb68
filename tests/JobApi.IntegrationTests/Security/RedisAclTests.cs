using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace JobApi.IntegrationTests.Security;

/// <summary>The service runs end to end as the Redis ACL user that docs/redis-acl.txt defines (restricted to the
/// key prefix, its channels and the commands listed there): every kind, retries, cancel, lists, idempotency,
/// waiting for results. Redis's ACL LOG must show no refused command; the user cannot touch other keys or
/// run administrative commands.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisAclTests(RedisServerFixture redis) : IAsyncLifetime
{
    private readonly string _user = "jobapi-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _prefix = "acl-" + Guid.NewGuid().ToString("N")[..8];
    private const string Password = "s3cret-acl-password";
    private JobApiFactory? _factory;

    /// <summary>The documented line, for this test's user, password and prefix.</summary>
    public static string[] AclArguments(string user, string password, string prefix)
    {
        var line = File.ReadAllLines(Path.Combine(RepositoryRoot(), "docs", "redis-acl.txt")).Single(l => l.StartsWith("ACL SETUSER", StringComparison.Ordinal));
        Assert.Contains(line, File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "SECURITY.md")));
        return line.Split(" ", StringSplitOptions.RemoveEmptyEntries).Skip(3)
            .Select(a => a switch
            {
                "jobapi" => user,
                ">CHANGE-ME" => ">" + password,
                "~jobapi:*" => $"~{prefix}:*",
                "&jobapi:*" => $"&{prefix}:*",
                _ => a,
            })
            .Prepend(user).ToArray();
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "JobApi.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("JobApi.sln not found above the test binaries.");
    }

    public async Task InitializeAsync()
    {
        var args = AclArguments(_user, Password, _prefix);
        Assert.DoesNotContain(args, a => a.Contains("jobapi:", StringComparison.Ordinal));
        await redis.Redis.GetDatabase().ExecuteAsync("ACL", ["SETUSER", .. args.Select(a => (object)a)]);
        await redis.Redis.GetDatabase().ExecuteAsync("ACL", "LOG", "RESET");
        _factory = new JobApiFactory(redis, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = $"{redis.ConnectionString},user={_user},password={Password}",
            // Several queue partitions, so the partitioned keys ({rotation:P}, {jobs:P}, {due:P}, ...) are exercised too.
            ["JobApi:Queue:Partitions"] = "4",
            // The request rate shared through Redis (rate.lua) runs on every /v1 request.
            ["JobApi:Limits:RequestsPerSecond"] = "10000",
        })
        { KeyPrefix = _prefix };
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
        await redis.Redis.GetDatabase().ExecuteAsync("ACL", "DELUSER", _user);
    }

    [Fact]
    public async Task The_service_runs_every_feature_as_the_documented_acl_user_and_redis_refuses_nothing()
    {
        var client = _factory!.CreateClient();
        var primes = await client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 100_000 }, shards = 4 }, idempotencyKey: "k1");
        Assert.Equal(primes.Id(), (await client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 100_000 }, shards = 4 }, idempotencyKey: "k1")).Id());
        var words = await client.SubmitAsync(new { kind = "wordcount", input = new { text = "b a b" }, shards = 2 });
        var retried = await client.SubmitAsync(new { kind = "noop", input = new { failTimes = 1 }, shards = 2, maxAttempts = 3 });
        var failed = await client.SubmitAsync(new { kind = "noop", input = new { failTimes = 5 }, shards = 1, maxAttempts = 1 });
        var slow = await client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 30_000 }, shards = 2 });

        Assert.Equal(9592, (await client.GetJsonAsync($"/v1/jobs/{primes.Id()}/result?waitSeconds=30")).GetProperty("result").GetProperty("count").GetInt64());
        Assert.Equal(3, (await client.ResultAsync(words.Id())).GetProperty("totalWords").GetInt64());
        Assert.Equal(2, (await client.ResultAsync(retried.Id())).GetProperty("shards").GetInt32());
        Assert.Equal("failed", (await client.WaitForFinalAsync(failed.Id())).State());
        Assert.Equal(202, (int)(await client.PostAsync($"/v1/jobs/{slow.Id()}/cancel", null)).StatusCode);
        Assert.Equal("canceled", (await client.WaitForFinalAsync(slow.Id())).State());
        Assert.Equal(5, (await client.GetJsonAsync("/v1/jobs?limit=100")).GetProperty("items").GetArrayLength()); // before the upload's job
        Assert.Equal(4, (await client.GetJsonAsync($"/v1/jobs/{primes.Id()}/shards")).GetProperty("items").GetArrayLength());
        Assert.Equal(200, (int)(await client.GetAsync("/health/ready")).StatusCode);
        // An upload counted in the tenant's quota, read, used, deleted and released.
        var input = (await client.UploadInputAsync("x y x"u8.ToArray())).Id();
        Assert.Equal(3, (await client.ResultAsync((await client.SubmitAsync(new { kind = "wordcount", input = new { inputRef = input } })).Id()))
            .GetProperty("totalWords").GetInt64());
        Assert.Equal(204, (int)(await client.DeleteAsync($"/v1/inputs/{input}")).StatusCode);
        await _factory.Services.GetServices<IHostedService>().OfType<JobApi.Workers.LeaseReaper>().Single().SweepAsync();
        // Watching: an events stream to its end, the workers registry (the heartbeat writes it), the metrics and their queue sample.
        Assert.Equal("succeeded", (await Watching.SseReader.ReadAsync(client, words.Id()))[^1].State);
        await TestSupport.WaitUntilAsync(async () => (await client.GetJsonAsync("/v1/workers")).GetProperty("items").GetArrayLength() > 0,
            "the worker is registered");
        await _factory.Services.GetRequiredService<JobApi.Telemetry.QueueDepthSampler>().SampleAsync();
        Assert.Equal(200, (int)(await client.GetAsync("/metrics")).StatusCode);

        var log = (RedisResult[])(await redis.Redis.GetDatabase().ExecuteAsync("ACL", "LOG", "128"))!;
        var refused = log.Select(e => (RedisResult[])e!).Select(Describe).Where(e => e.Contains(_user, StringComparison.Ordinal)).ToList();
        Assert.True(refused.Count == 0, "Redis refused: " + string.Join("; ", refused));
    }

    private static string Describe(RedisResult[] entry) => string.Join(" ", entry.Select(e => e.Resp2Type == ResultType.Array ? "[..]" : e.ToString()));

    [Fact]
    public async Task The_acl_user_cannot_touch_other_keys_or_run_administrative_commands()
    {
        using var restricted = await ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},user={_user},password={Password},allowAdmin=true");
        var db = restricted.GetDatabase();
        await db.StringSetAsync($"{_prefix}:probe", "1");
        foreach (var (command, args) in new (string, object[])[]
                 {
                     ("GET", ["other:key"]), ("SET", ["jobapi-other:x", "1"]), ("FLUSHALL", []), ("FLUSHDB", []), ("KEYS", ["*"]),
                     ("CONFIG", ["SET", "maxmemory", "1"]), ("ACL", ["LIST"]), ("SHUTDOWN", []),
                     ("SCRIPT", ["FLUSH"]), ("CLIENT", ["KILL", "TYPE", "normal"]), ("PUBLISH", ["other-channel", "x"]), ("MODULE", ["LIST"]),
                 })
        {
            var e = await Assert.ThrowsAnyAsync<RedisException>(() => db.ExecuteAsync(command, args));
            Assert.True(e.Message.Contains("NOPERM", StringComparison.Ordinal), $"{command}: {e.Message}");
        }
        Assert.Equal("1", (string?)await db.StringGetAsync($"{_prefix}:probe"));
    }
}
