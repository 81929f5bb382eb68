using System.Diagnostics;
using StackExchange.Redis;

namespace JobApi.IntegrationTests.Cluster;

/// <summary>
/// A local Redis Cluster of 3 primaries and 3 replicas: six <c>redis-server --cluster-enabled yes</c> processes in
/// temporary directories, joined by <c>redis-cli --cluster create --cluster-replicas 1</c>. The node timeout is
/// short (2 s) so a killed primary's replica takes over within seconds.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "jobapi-cluster-" + Guid.NewGuid().ToString("N")[..8]);

    public List<RedisNode> Nodes { get; } = [];
    public string ConnectionString => string.Join(",", Nodes.Select(n => n.EndPoint));
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 6; i++)
        {
            var port = RedisServerFixture.FreePort();
            Nodes.Add(new RedisNode(port, Path.Combine(_root, port.ToString()),
                ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
                 "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]));
        }
        await Task.WhenAll(Nodes.Select(n => n.StartAsync()));
        await RunRedisCliAsync(["--cluster", "create", .. Nodes.Select(n => n.EndPoint), "--cluster-replicas", "1", "--cluster-yes"]);
        // Every node must agree that all slots are served before clients come.
        await TestWait.UntilAsync(async () =>
        {
            foreach (var node in Nodes)
            {
                var info = await RunRedisCliAsync(["-p", node.Port.ToString(), "cluster", "info"]);
                if (!info.Contains("cluster_state:ok", StringComparison.Ordinal)) return false;
            }
            return true;
        }, TimeSpan.FromSeconds(30), "the cluster did not reach cluster_state:ok");
        Redis = await ConnectionMultiplexer.ConnectAsync(ConnectionString);
    }

    /// <summary>The node that serves <paramref name="key"/>'s slot as primary now.</summary>
    public async Task<RedisNode> PrimaryOfAsync(RedisKey key)
    {
        var endpoint = await Redis.GetDatabase().IdentifyEndpointAsync(key) ?? throw new InvalidOperationException($"no node serves {key}");
        var port = ((System.Net.IPEndPoint)endpoint).Port;
        return Nodes.Single(n => n.Port == port);
    }

    public static async Task<string> RunRedisCliAsync(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("redis-cli") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("redis-cli did not start; install it with apt-get install redis-tools.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (process.ExitCode != 0) throw new InvalidOperationException($"redis-cli {string.Join(' ', info.ArgumentList)} failed: {await output} {await error}");
        return await output;
    }

    public async Task DisposeAsync()
    {
        Redis?.Dispose();
        foreach (var node in Nodes) await node.DisposeAsync();
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
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
