using System.Net;
using System.Net.Sockets;

namespace JobApi.LocalRedis;

/// <summary>
/// Loopback ports for the processes a test or the load driver starts (redis-server, service nodes, a static file
/// server). A port the kernel hands out for port 0 lies in the ephemeral range, where every outgoing connection also
/// takes its local port: between choosing such a port and a process binding it (a node restarted on its port a minute
/// later), a client connection may own it and the process fails with "address already in use". These ports are
/// chosen below the ephemeral range instead, where only listeners live, are checked free by binding them, and are
/// never handed out twice by this process.
/// </summary>
public static class LoopbackPorts
{
    /// <summary>Redis Cluster's bus listens on the node's port + 10000.</summary>
    public const int ClusterBusOffset = 10000;

    private static readonly Lock Gate = new();
    private static readonly HashSet<int> Given = [];
    private static readonly int EphemeralLow = ReadEphemeralLow();

    /// <summary>A free loopback port below the ephemeral range. With <paramref name="clusterBus"/> its bus port
    /// (port + <see cref="ClusterBusOffset"/>) is below the range and free too.</summary>
    public static int Next(bool clusterBus = false)
    {
        var high = clusterBus ? EphemeralLow - ClusterBusOffset : EphemeralLow;
        var low = Math.Max(1024, high - 10000);
        lock (Gate)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(low, high);
                if (Given.Contains(port) || !IsFree(port)) continue;
                if (clusterBus && (Given.Contains(port + ClusterBusOffset) || !IsFree(port + ClusterBusOffset))) continue;
                Given.Add(port);
                if (clusterBus) Given.Add(port + ClusterBusOffset);
                return port;
            }
        }
        throw new InvalidOperationException($"no free loopback port in {low}..{high - 1}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first port of the kernel's ephemeral range (Linux: ip_local_port_range; 32768 elsewhere, the
    /// common default).</summary>
    private static int ReadEphemeralLow()
    {
        const string path = "/proc/sys/net/ipv4/ip_local_port_range";
        try
        {
            if (File.Exists(path)
                && int.TryParse(File.ReadAllText(path).Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[0],
                    System.Globalization.CultureInfo.InvariantCulture, out var low)
                && low > 1024 + 2 * ClusterBusOffset)
                return low;
        }
        catch (IOException)
        {
        }
        return 32768;
    }
}
