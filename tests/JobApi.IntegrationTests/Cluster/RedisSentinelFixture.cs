using StackExchange.Redis;

namespace JobApi.IntegrationTests.Cluster;

/// <summary>
/// A Sentinel-managed Redis: one primary, one replica and three <c>redis-server --sentinel</c> processes watching
/// service <c>jobapi</c> (quorum 2, down after 1 s), so a killed primary is replaced within seconds.
/// </summary>
public sealed class RedisSentinelFixture : IAsyncLifetime
{
    public const string ServiceName = "jobapi";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "jobapi-sentinel-" + Guid.NewGuid().ToString("N")[..8]);

    public RedisNode Primary { get; private set; } = null!;
    public RedisNode Replica { get; private set; } = null!;
    public List<RedisNode> Sentinels { get; } = [];
    public string ConnectionString => string.Join(",", Sentinels.Select(s => s.EndPoint)) + $",serviceName={ServiceName}";
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        string[] data = ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""];
        var primaryPort = LoopbackPorts.Next();
        Primary = new RedisNode(primaryPort, Path.Combine(_root, "primary"), data);
        Replica = new RedisNode(LoopbackPorts.Next(), Path.Combine(_root, "replica"), [.. data, "--replicaof", "127.0.0.1", primaryPort.ToString()]);
        await Task.WhenAll(Primary.StartAsync(), Replica.StartAsync());
        for (var i = 0; i < 3; i++)
        {
            var port = LoopbackPorts.Next();
            var dir = Path.Combine(_root, "sentinel-" + port);
            Directory.CreateDirectory(dir);
            var config = Path.Combine(dir, "sentinel.conf");
            await File.WriteAllTextAsync(config,
                $"sentinel monitor {ServiceName} 127.0.0.1 {primaryPort} 2\n" +
                $"sentinel down-after-milliseconds {ServiceName} 1000\n" +
                $"sentinel failover-timeout {ServiceName} 5000\n" +
                $"sentinel parallel-syncs {ServiceName} 1\n");
            Sentinels.Add(new RedisNode(port, dir, [config, "--sentinel"]));
        }
        await Task.WhenAll(Sentinels.Select(s => s.StartAsync()));
        // The replica is in sync and every sentinel knows it before clients come.
        await TestWait.UntilAsync(async () =>
        {
            var info = await RedisCli.RunAsync(["-p", Replica.Port.ToString(), "info", "replication"]);
            if (!info.Contains("master_link_status:up", StringComparison.Ordinal)) return false;
            foreach (var s in Sentinels)
            {
                var replicas = await RedisCli.RunAsync(["-p", s.Port.ToString(), "sentinel", "replicas", ServiceName]);
                if (!replicas.Contains(Replica.Port.ToString(), StringComparison.Ordinal)) return false;
            }
            return true;
        }, TimeSpan.FromSeconds(30), "the replica or the sentinels did not come up");
        Redis = await ConnectionMultiplexer.ConnectAsync(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        Redis?.Dispose();
        foreach (var node in Sentinels.Append(Replica).Append(Primary)) await node.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisSentinelCollection : ICollectionFixture<RedisSentinelFixture>
{
    public const string Name = "redis-sentinel";
}
