using System.Diagnostics;

namespace JobApi.LocalRedis;

/// <summary>One redis-server child process started with extra arguments (cluster or sentinel mode) in a directory
/// of its own; it can be SIGKILLed and started again with the same directory (its nodes.conf / config). Shared by the
/// integration tests and the load driver (linked into both projects).</summary>
public sealed class RedisNode(int port, string dir, IReadOnlyList<string> arguments) : IAsyncDisposable
{
    private Process? _process;

    public int Port { get; } = port;
    public string Dir { get; } = dir;
    public string EndPoint => $"127.0.0.1:{Port}";
    public bool IsRunning => _process is { HasExited: false };

    public async Task StartAsync()
    {
        Directory.CreateDirectory(Dir);
        var info = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Dir };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        // No --dir: the working directory holds nodes.conf, the append-only file and a sentinel's rewritten config.
        foreach (var a in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1" }) info.ArgumentList.Add(a);
        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start; install it with apt-get install redis-server.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await TestWait.UntilAsync(() => Task.FromResult(PortOpen()), TimeSpan.FromSeconds(20), $"redis-server on port {Port} did not open its port");
    }

    private bool PortOpen()
    {
        if (_process!.HasExited) throw new InvalidOperationException($"redis-server on port {Port} exited with {_process.ExitCode}");
        try
        {
            using var c = new System.Net.Sockets.TcpClient();
            c.Connect(System.Net.IPAddress.Loopback, Port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Starts the node again and waits until it serves as a replica in sync with its primary.</summary>
    public async Task RestartAsReplicaAsync()
    {
        await StartAsync();
        await TestWait.UntilAsync(async () =>
        {
            string info;
            try
            {
                info = await RedisCli.RunAsync(["-p", Port.ToString(), "info", "replication"]);
            }
            catch (InvalidOperationException)
            {
                // Sentinel reconfigures the returning node (REPLICAOF) and closes its client connections, ours too.
                return false;
            }
            return info.Contains("role:slave", StringComparison.Ordinal) && info.Contains("master_link_status:up", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(30), $"redis-server on port {Port} did not rejoin as a replica");
    }

    /// <summary>SIGKILL: no shutdown, no last write to disk, like a machine that loses power.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false }) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}

/// <summary>Waiting for conditions with a deadline (never for a fixed time).</summary>
public static class TestWait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(50);
        }
    }
}
