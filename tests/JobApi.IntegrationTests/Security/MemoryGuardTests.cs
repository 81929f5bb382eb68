using System.Diagnostics;
using StackExchange.Redis;

namespace JobApi.IntegrationTests.Security;

/// <summary>While Redis uses more than <c>JobApi:Limits:RedisMemoryFraction</c> of its maxmemory, submits are a
/// 503 problem naming the limit (with Retry-After) and create nothing; reads still work. A private
/// redis-server, so that its maxmemory does not touch other tests.</summary>
public sealed class MemoryGuardTests : IAsyncLifetime
{
    private Process? _redis;
    private JobApiFactory? _factory;
    private IConnectionMultiplexer? _admin;

    public async Task InitializeAsync()
    {
        (_redis, var port) = RedisServerFixture.StartLocal(appendOnly: false, dir: Path.GetTempPath());
        _admin = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true");
        await _admin.GetServer(_admin.GetEndPoints()[0]).ConfigSetAsync("maxmemory", "1gb");
        // An uninitialized fixture: the factory takes the private server from its settings.
        _factory = new JobApiFactory(new RedisServerFixture(), new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = $"127.0.0.1:{port}",
            ["JobApi:Limits:RedisMemoryFraction"] = "0.0001",
        });
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
        _admin?.Dispose();
        if (_redis is { HasExited: false })
        {
            _redis.Kill();
            await _redis.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Submits_are_refused_with_503_naming_the_limit_while_redis_is_nearly_full()
    {
        var client = _factory!.CreateClient();
        using var response = await client.PostJobBytesAsync("""{ "kind": "noop", "input": {} }"""u8.ToArray(), "application/json");
        var problem = await response.AssertProblemAsync(503);
        Assert.Equal("urn:jobapi:problem:redis-memory-full", problem.GetProperty("type").GetString());
        Assert.Equal("JobApi:Limits:RedisMemoryFraction", problem.GetProperty("limit").GetString());
        Assert.True(response.Headers.Contains("Retry-After"));
        Assert.Equal(0, (await client.GetJsonAsync("/v1/jobs")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Submits_are_accepted_again_once_redis_has_room()
    {
        var client = _factory!.CreateClient();
        var body = """{ "kind": "noop", "input": {} }"""u8.ToArray();
        using (var refused = await client.PostJobBytesAsync(body, "application/json")) await refused.AssertProblemAsync(503);
        await _admin!.GetServer(_admin.GetEndPoints()[0]).ConfigSetAsync("maxmemory", "0"); // no limit: room again
        // The figure is read again in the background at most a second after the last read: a later submit passes.
        var clock = Stopwatch.StartNew();
        var status = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            using var response = await client.PostJobBytesAsync(body, "application/json");
            status = (int)response.StatusCode;
            if (status == 202) break;
            Assert.Equal(503, status);
            await Task.Delay(100);
        }
        Assert.Equal(202, status);
        Assert.Equal(1, (await client.GetJsonAsync("/v1/jobs")).GetProperty("items").GetArrayLength());
    }
}
