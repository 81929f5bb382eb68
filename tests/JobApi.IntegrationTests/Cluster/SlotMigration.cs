using System.Globalization;
using StackExchange.Redis;

namespace JobApi.IntegrationTests.Cluster;

/// <summary>
/// Moves one hash slot from its primary to another primary the way <c>redis-cli --cluster reshard</c> does:
/// <c>CLUSTER SETSLOT IMPORTING</c> on the target, <c>MIGRATING</c> on the source, <c>MIGRATE</c> of the slot's keys
/// in small batches, then <c>CLUSTER SETSLOT NODE</c> on the target, the source and every other primary. While it
/// runs, multi-key commands on the slot get <c>TRYAGAIN</c> (keys split between the two nodes) or <c>ASK</c>.
/// </summary>
public sealed class SlotMigration(RedisClusterFixture cluster, int slot) : IAsyncDisposable
{
    private ConnectionMultiplexer? _admin;

    public int Slot => slot;

    /// <summary>Moves the slot and returns the ports of the source and the target primaries. <paramref name="whileSplit"/>
    /// runs once after the first batch of keys moved (the slot is split); the migration goes on when it returns.</summary>
    public async Task<(int From, int To)> RunAsync(Func<Task> whileSplit, int keysPerBatch = 1)
    {
        var primaries = await PrimariesAsync();
        var source = primaries.Single(p => p.Serves(slot));
        var target = primaries.First(p => p.Id != source.Id);
        int from = source.Port, to = target.Port;
        await (await NodeAsync(to)).ExecuteAsync("CLUSTER", "SETSLOT", slot, "IMPORTING", source.Id);
        await (await NodeAsync(from)).ExecuteAsync("CLUSTER", "SETSLOT", slot, "MIGRATING", target.Id);
        var split = false;
        while (true)
        {
            var keys = (RedisResult[])(await (await NodeAsync(from)).ExecuteAsync("CLUSTER", "GETKEYSINSLOT", slot, keysPerBatch))!;
            if (keys.Length == 0) break;
            await (await NodeAsync(from)).ExecuteAsync("MIGRATE", ["127.0.0.1", to, "", 0, 5000, "KEYS", .. keys.Select(k => (object)(string)k!)]);
            if (split) continue;
            split = true;
            await whileSplit();
        }
        // The target first (it owns the slot from now on), then the source (it answers MOVED), then the rest.
        foreach (var node in primaries.OrderBy(p => p.Id == target.Id ? 0 : p.Id == source.Id ? 1 : 2))
            await (await NodeAsync(node.Port)).ExecuteAsync("CLUSTER", "SETSLOT", slot, "NODE", target.Id);
        return (from, to);
    }

    /// <summary>How many TRYAGAIN replies the running nodes have sent since they started (<c>INFO errorstats</c>).</summary>
    public async Task<long> TryAgainRepliesAsync()
    {
        long sum = 0;
        foreach (var node in cluster.Nodes.Where(n => n.IsRunning))
        {
            var info = await (await NodeAsync(node.Port)).InfoAsync("errorstats");
            var count = info.SelectMany(g => g).FirstOrDefault(p => p.Key == "errorstat_TRYAGAIN").Value;
            if (count is not null) sum += long.Parse(count.Split(',')[0].Split('=')[1], CultureInfo.InvariantCulture);
        }
        return sum;
    }

    /// <summary>A node on an admin connection of this migration's own (CLUSTER, MIGRATE and INFO need admin mode);
    /// commands sent to a server go to that node, never redirected.</summary>
    private async Task<IServer> NodeAsync(int port)
    {
        _admin ??= await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString + ",allowAdmin=true");
        return _admin.GetServer("127.0.0.1", port);
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null) await _admin.DisposeAsync();
    }

    /// <summary>The primaries that serve slots, from <c>CLUSTER NODES</c> of a running node
    /// (<c>id ip:port@bus flags primary ping pong epoch link slot...</c>).</summary>
    private async Task<List<Primary>> PrimariesAsync()
    {
        var text = await Cli(cluster.Nodes.First(n => n.IsRunning).Port, "cluster", "nodes");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' '))
            .Where(f => f[2].Contains("master", StringComparison.Ordinal) && !f[2].Contains("fail", StringComparison.Ordinal) && f.Length > 8)
            .Select(f => new Primary(f[0], int.Parse(f[1].Split('@')[0].Split(':')[1], CultureInfo.InvariantCulture), f[8..]))
            .ToList();
    }

    private sealed record Primary(string Id, int Port, string[] Ranges)
    {
        public bool Serves(int slot) => Ranges.Where(r => !r.StartsWith('[')).Any(r =>
        {
            var bounds = r.Split('-');
            var low = int.Parse(bounds[0], CultureInfo.InvariantCulture);
            return slot >= low && slot <= int.Parse(bounds[^1], CultureInfo.InvariantCulture);
        });
    }

    private static Task<string> Cli(int port, params string[] arguments) =>
        RedisCli.RunAsync(["-p", port.ToString(CultureInfo.InvariantCulture), .. arguments]);
}
