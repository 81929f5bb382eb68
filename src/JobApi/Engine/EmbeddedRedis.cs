using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using JobApi.Options;

namespace JobApi.Engine;

/// <summary>
/// A private redis-server child process for running the service with no Redis configured: loopback only,
/// a free port, the append-only file on, data in <c>JobApi:EmbeddedRedis:DataDirectory</c>. A server left
/// behind by a killed earlier run on the same data directory is shut down first, so two servers never
/// write one AOF.
/// </summary>
public sealed class EmbeddedRedis : IDisposable
{
    private readonly Process _process;
    private readonly string _pidFile;

    private EmbeddedRedis(Process process, int port, string pidFile)
    {
        _process = process;
        Port = port;
        _pidFile = pidFile;
    }

    public int Port { get; }
    public string ConnectionString => $"127.0.0.1:{Port}";

    public static EmbeddedRedis Start(EmbeddedRedisOptions options, string contentRoot)
    {
        var executable = FindExecutable(options.Executable) ?? throw new StartupException(
            $"'{options.Executable}' was not found on PATH. Install it (sudo apt-get install -y redis-server) or set " +
            "ConnectionStrings:Redis (env ConnectionStrings__Redis) to an existing Redis, e.g. 'localhost:6379'.");
        var dataDirectory = Path.GetFullPath(options.DataDirectory, contentRoot);
        Directory.CreateDirectory(dataDirectory);
        var pidFile = Path.Combine(dataDirectory, "embedded-redis.pid");
        StopLeftover(pidFile);

        var port = FreePort();
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dataDirectory,
                     "--appendonly", "yes", "--appendfsync", options.AppendFsync, "--save", "", "--daemonize", "no",
                 })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info) ?? throw new StartupException($"Could not start {executable}.");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Ping(port))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                if (!process.HasExited) process.Kill();
                string log;
                lock (output) log = output.ToString();
                throw new StartupException($"The embedded redis-server did not start (data directory {dataDirectory}):\n{log}");
            }
            Thread.Sleep(50);
        }
        File.WriteAllText(pidFile, $"{process.Id} {port}");
        return new EmbeddedRedis(process, port, pidFile);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                Send(Port, "SHUTDOWN\r\n");
                if (!_process.WaitForExit(10_000)) _process.Kill();
            }
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException)
        {
            if (!_process.HasExited) _process.Kill();
        }
        File.Delete(_pidFile);
        _process.Dispose();
    }

    private static void StopLeftover(string pidFile)
    {
        if (!File.Exists(pidFile)) return;
        var parts = File.ReadAllText(pidFile).Split(' ');
        if (parts.Length == 2 && int.TryParse(parts[0], out var pid) && int.TryParse(parts[1], out var port))
        {
            try
            {
                using var old = Process.GetProcessById(pid);
                if (old.ProcessName.StartsWith("redis", StringComparison.Ordinal))
                {
                    try { Send(port, "SHUTDOWN\r\n"); }
                    catch (SocketException) { old.Kill(); }
                    if (!old.WaitForExit(10_000)) old.Kill();
                }
            }
            catch (ArgumentException)
            {
                // not running any more
            }
        }
        File.Delete(pidFile);
    }

    private static bool Ping(int port)
    {
        try
        {
            return Send(port, "PING\r\n").StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string Send(int port, string command)
    {
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, port);
        client.ReceiveTimeout = 2000;
        var stream = client.GetStream();
        stream.Write(Encoding.ASCII.GetBytes(command));
        var buffer = new byte[64];
        try
        {
            var read = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (IOException)
        {
            return ""; // SHUTDOWN closes the connection without a reply
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindExecutable(string name)
    {
        if (Path.IsPathRooted(name)) return File.Exists(name) ? name : null;
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator).Concat(["/usr/sbin", "/usr/bin", "/usr/local/bin"]))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>A configuration problem that stops start-up with one clear message.</summary>
public sealed class StartupException(string message) : Exception(message);
