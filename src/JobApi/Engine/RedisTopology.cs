using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Whether the whole key space is on one server (a standalone Redis, or a primary found through Sentinel), so
/// that one script call may touch keys of several slots: the calls of several jobs in one script (many.lua), a plain
/// submit in one script (submit_whole.lua). On a cluster each slot is on its own and every script keeps to one slot.
/// Until a server has answered its kind is not known, and the calls that work everywhere are used. One per connection
/// (<see cref="Of"/>).</summary>
public sealed class RedisTopology
{
    private static readonly ConditionalWeakTable<IConnectionMultiplexer, RedisTopology> Known = new();
    private readonly IConnectionMultiplexer _redis;
    private bool? _oneServer;
    private bool? _singleStandalone;

    private RedisTopology(IConnectionMultiplexer redis) => _redis = redis;

    /// <summary>The topology of <paramref name="redis"/>, the same instance for every caller.</summary>
    public static RedisTopology Of(IConnectionMultiplexer redis) => Known.GetValue(redis, static r => new RedisTopology(r));

    public bool OneServer => Decide(ref _oneServer, servers => servers.All(s => s.ServerType is ServerType.Standalone or ServerType.Sentinel));

    /// <summary>One endpoint, a standalone primary (no replicas, no Sentinel, no cluster): where scripts may go by their
    /// SHA1 (see <see cref="LuaScripts"/>).</summary>
    public bool SingleStandalone => Decide(ref _singleStandalone, servers => servers is [{ ServerType: ServerType.Standalone, IsReplica: false }]);

    private bool Decide(ref bool? known, Func<IServer[], bool> rule)
    {
        if (known is { } decided) return decided;
        var servers = _redis.GetServers();
        if (!servers.Any(s => s.IsConnected)) return false;
        var answer = rule(servers);
        known = answer;
        return answer;
    }
}
