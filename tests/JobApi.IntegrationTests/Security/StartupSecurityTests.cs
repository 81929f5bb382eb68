using JobApi.IntegrationTests.Faults;
using JobApi.Security;

namespace JobApi.IntegrationTests.Security;

/// <summary>The real binary as a process: open mode refuses to listen beyond loopback unless told to, and no
/// secret (Redis password, API key, JWT signing key) ever reaches its output, also when Redis refuses the password.</summary>
[Collection(RedisCollection.Name)]
public sealed class StartupSecurityTests(RedisServerFixture redis) : IAsyncLifetime
{
    private const string RedisPassword = "redis-pw-5c1e0b8f7a2d";
    private readonly string _user = "jobapi-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _prefix = "start-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _dir = Directory.CreateTempSubdirectory("jobapi-startup-").FullName;
    private readonly List<ServiceProcess> _nodes = [];

    public async Task InitializeAsync() =>
        await redis.Redis.GetDatabase().ExecuteAsync("ACL", ["SETUSER", .. RedisAclTests.AclArguments(_user, RedisPassword, _prefix).Select(a => (object)a)]);

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes) node.Dispose();
        await redis.Redis.GetDatabase().ExecuteAsync("ACL", "DELUSER", _user);
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private ServiceProcess Node(Dictionary<string, string> settings, string host = "127.0.0.1")
    {
        settings.TryAdd("ConnectionStrings__Redis", $"{redis.ConnectionString},user={_user},password={RedisPassword}");
        settings.TryAdd("JobApi__KeyPrefix", _prefix);
        var node = new ServiceProcess("node", "Api,Worker", settings, _dir, host);
        _nodes.Add(node);
        return node;
    }

    [Fact]
    public async Task Open_mode_on_a_non_loopback_address_stops_with_one_clear_message()
    {
        var node = Node([], host: "0.0.0.0");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => node.StartAsync());
        Assert.Equal(2, node.ExitCode);
        Assert.Contains("JobApi cannot start: No API keys are configured", node.Log);
        Assert.Contains("JobApi:Auth:AllowAnonymousNonLoopback", node.Log);
        Assert.DoesNotContain("   at ", node.Log); // no stack trace
        Assert.Contains("exited with code 2", e.Message);
    }

    [Fact]
    public async Task Open_mode_on_any_address_starts_with_the_opt_out_flag_and_warns()
    {
        var node = Node(new() { ["JobApi__Auth__AllowAnonymousNonLoopback"] = "true" }, host: "0.0.0.0");
        await node.StartAsync();
        Assert.Contains("WARNING: no API keys configured", node.Log);
    }

    [Fact]
    public async Task Open_mode_on_loopback_says_so_at_start_up()
    {
        var node = Node([]);
        await node.StartAsync();
        Assert.Contains("open mode, listening on loopback only", node.Log);
    }

    [Fact]
    public async Task No_secret_appears_in_the_output_of_a_node_that_serves_requests_or_of_one_Redis_refuses()
    {
        const string apiKey = "api-key-secret-9d0b3c55e1";
        const string signingKey = "jwt-signing-secret-that-is-long-enough-4711";
        var node = Node(new()
        {
            ["JobApi__Auth__ApiKeys__0__Tenant"] = "acme",
            ["JobApi__Auth__ApiKeys__0__KeyHash"] = ApiKeyRing.HashOf(apiKey),
            ["JobApi__Auth__Jwt__SigningKey"] = signingKey,
            ["Logging__LogLevel__Default"] = "Debug",
        }, host: "0.0.0.0");
        await node.StartAsync();
        using var client = new HttpClient { BaseAddress = node.BaseAddress };
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        var job = await client.SubmitAsync(new { kind = "noop", input = new { failTimes = 1 }, shards = 1 });
        await client.WaitForFinalAsync(job.Id());
        using var wrong = new HttpClient { BaseAddress = node.BaseAddress };
        wrong.DefaultRequestHeaders.Add("X-Api-Key", apiKey + "-wrong");
        Assert.Equal(401, (int)(await wrong.GetAsync("/v1/jobs")).StatusCode);
        node.Kill();

        var refused = Node(new() { ["ConnectionStrings__Redis"] = $"{redis.ConnectionString},user={_user},password={RedisPassword}-wrong" });
        await Assert.ThrowsAsync<InvalidOperationException>(async () => { await refused.StartAsync(); Assert.Fail(refused.Log); });
        Assert.Contains("refused the credentials", refused.Log);

        foreach (var log in new[] { node.Log, refused.Log })
            foreach (var secret in new[] { RedisPassword, apiKey, signingKey })
                Assert.DoesNotContain(secret, log);
    }
}
