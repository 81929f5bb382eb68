using JobApi.LocalRedis;

namespace JobApi.Bench;

/// <summary>The Redis a scaling run drives: one redis-server, or a local Redis Cluster of 3 primaries (no replicas,
/// started the way the integration tests start theirs) with the queue partitions spread over its slots. Both
/// without persistence, so the figures compare the topologies, not the disks.</summary>
public sealed class RedisTarget : IAsyncDisposable
{
    private static readonly string[] NoPersistence = ["--save", "", "--appendonly", "no"];
    private readonly RedisNode? _single;
    private readonly LocalRedisCluster? _cluster;

    private RedisTarget(string topology, string connectionString, int partitions, RedisNode? single, LocalRedisCluster? cluster)
    {
        Topology = topology;
        ConnectionString = connectionString;
        Partitions = partitions;
        _single = single;
        _cluster = cluster;
    }

    /// <summary><c>single</c> or <c>cluster3</c>.</summary>
    public string Topology { get; }
    public string ConnectionString { get; }
    public int Partitions { get; }

    public static async Task<RedisTarget> StartAsync(string topology, int clusterPartitions)
    {
        var root = Path.Combine(Path.GetTempPath(), $"jobapi-bench-{topology}-{Guid.NewGuid().ToString("N")[..8]}");
        if (topology == "single")
        {
            var node = new RedisNode(LoopbackPorts.Next(), root, NoPersistence);
            await node.StartAsync();
            return new RedisTarget(topology, node.EndPoint, 1, node, null);
        }
        if (topology != "cluster3") throw new ArgumentException($"unknown topology {topology} (single or cluster3)");
        var cluster = await LocalRedisCluster.StartAsync(root, primaries: 3, replicasPerPrimary: 0, NoPersistence, TimeSpan.FromSeconds(5));
        return new RedisTarget(topology, cluster.ConnectionString, clusterPartitions, null, cluster);
    }

    public async ValueTask DisposeAsync()
    {
        if (_single is not null)
        {
            await _single.DisposeAsync();
            try
            {
                Directory.Delete(_single.Dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}
