using System.Diagnostics;

namespace JobApi.LocalRedis;

/// <summary>
/// A local Redis Cluster: <c>redis-server --cluster-enabled yes</c> processes on free loopback ports, each in a
/// directory of its own under <paramref name="root"/>, joined by <c>redis-cli --cluster create</c>. Used by the
/// integration tests' cluster fixture and by the load driver (linked into both projects).
/// </summary>
public sealed class LocalRedisCluster(string root) : IAsyncDisposable
{
    public List<RedisNode> Nodes { get; } = [];
    public string ConnectionString => string.Join(",", Nodes.Select(n => n.EndPoint));

    /// <summary>Starts <paramref name="primaries"/> × (1 + <paramref name="replicasPerPrimary"/>) nodes and waits until
    /// every node reports <c>cluster_state:ok</c>. <paramref name="nodeArguments"/> go to every redis-server.</summary>
    public static async Task<LocalRedisCluster> StartAsync(
        string root, int primaries, int replicasPerPrimary, IReadOnlyList<string> nodeArguments, TimeSpan nodeTimeout)
    {
        var cluster = new LocalRedisCluster(root);
        try
        {
            for (var i = 0; i < primaries * (1 + replicasPerPrimary); i++)
            {
                var port = LoopbackPorts.Next(clusterBus: true);
                cluster.Nodes.Add(new RedisNode(port, Path.Combine(root, port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", ((long)nodeTimeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
                     .. nodeArguments]));
            }
            await Task.WhenAll(cluster.Nodes.Select(n => n.StartAsync()));
            await RedisCli.RunAsync(["--cluster", "create", .. cluster.Nodes.Select(n => n.EndPoint),
                "--cluster-replicas", replicasPerPrimary.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cluster-yes"]);
            // Every node must agree that all slots are served before clients come.
            await TestWait.UntilAsync(async () =>
            {
                foreach (var node in cluster.Nodes)
                {
                    var info = await RedisCli.RunAsync(["-p", node.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "cluster", "info"]);
                    if (!info.Contains("cluster_state:ok", StringComparison.Ordinal)) return false;
                }
                return true;
            }, TimeSpan.FromSeconds(30), "the cluster did not reach cluster_state:ok");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes) await node.DisposeAsync();
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>Runs <c>redis-cli</c> and returns its output; a non-zero exit is an exception with the output.</summary>
public static class RedisCli
{
    public static async Task<string> RunAsync(IEnumerable<string> arguments)
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
}
