using StackExchange.Redis;

namespace JobApi.IntegrationTests.Cluster;

/// <summary>
/// A local Redis Cluster of 3 primaries and 3 replicas (<see cref="LocalRedisCluster"/>, shared with the load
/// driver), with append-only files. The node timeout is short (2 s) so a killed primary's replica takes over within
/// seconds.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private LocalRedisCluster _cluster = null!;

    public List<RedisNode> Nodes => _cluster.Nodes;
    public string ConnectionString => _cluster.ConnectionString;
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "jobapi-cluster-" + Guid.NewGuid().ToString("N")[..8]);
        _cluster = await LocalRedisCluster.StartAsync(root, primaries: 3, replicasPerPrimary: 1,
            ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""], TimeSpan.FromSeconds(2));
        Redis = await ConnectionMultiplexer.ConnectAsync(ConnectionString);
    }

    /// <summary>The node that serves <paramref name="key"/>'s slot as primary now.</summary>
    public async Task<RedisNode> PrimaryOfAsync(RedisKey key)
    {
        var endpoint = await Redis.GetDatabase().IdentifyEndpointAsync(key) ?? throw new InvalidOperationException($"no node serves {key}");
        var port = ((System.Net.IPEndPoint)endpoint).Port;
        return Nodes.Single(n => n.Port == port);
    }

    public async Task DisposeAsync()
    {
        Redis?.Dispose();
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
