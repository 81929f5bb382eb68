using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Whether the whole key space is on one server (a standalone Redis, or a primary found through Sentinel), so
/// that one script call may touch keys of several slots: the calls of several jobs in one script (many.lua), a plain
/// submit in one script (submit_whole.lua). On a cluster each slot is on its own and every script keeps to one slot.
/// Until a server has answered its kind is not known, and the calls that work everywhere are used.</summary>
public sealed class RedisTopology(IConnectionMultiplexer redis)
{
    private bool? _oneServer;

    public bool OneServer
    {
        get
        {
            if (_oneServer is { } known) return known;
            var servers = redis.GetServers();
            if (!servers.Any(s => s.IsConnected)) return false;
            var one = servers.All(s => s.ServerType is ServerType.Standalone or ServerType.Sentinel);
            _oneServer = one;
            return one;
        }
    }
}
