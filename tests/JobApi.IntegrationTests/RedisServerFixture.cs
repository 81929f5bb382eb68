using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DotNet.Testcontainers.Builders;
using StackExchange.Redis;
using Testcontainers.Redis;

namespace JobApi.IntegrationTests;

/// <summary>
/// One real Redis for the whole test run: a Testcontainers Redis when a Docker engine answers, otherwise
/// a local redis-server child process on a free port (what runs on machines without Docker). Test classes
/// share it and keep apart by key prefix, so they never need FLUSHDB.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisContainer? _container;
    private Process? _process;

    public string ConnectionString { get; private set; } = "";
    public int Port { get; private set; }
    public string Source { get; private set; } = "";
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("JOBAPI_TEST_DOCKER") != "0")
        {
            try
            {
                _container = new RedisBuilder("redis:7-alpine").Build();
                await _container.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
                ConnectionString = _container.GetConnectionString();
                Port = int.Parse(ConnectionString.Split(':')[^1]);
                Source = "testcontainers";
            }
            catch (Exception e) when (e is DockerUnavailableException or TimeoutException or InvalidOperationException or ArgumentException)
            {
                _container = null;
            }
        }
        if (_container is null)
        {
            (_process, Port) = StartLocal(appendOnly: false, dir: Path.GetTempPath());
            ConnectionString = $"127.0.0.1:{Port}";
            Source = "local redis-server";
        }
        Redis = await ConnectionMultiplexer.ConnectAsync(ConnectionString);
    }

    /// <summary>Starts a redis-server child on a free port and waits for it to answer. <paramref name="extraArgs"/> come
    /// last, so they override the defaults (a TLS server: <c>--port 0 --tls-port P ...</c> with P = <paramref name="port"/>).</summary>
    public static (Process Process, int Port) StartLocal(bool appendOnly, string dir, string appendFsync = "everysec", int? port = null,
        IEnumerable<string>? extraArgs = null)
    {
        var p = port ?? LoopbackPorts.Next();
        var info = new ProcessStartInfo("redis-server")
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in new[]
                 {
                     "--port", p.ToString(), "--bind", "127.0.0.1", "--save", "", "--dir", dir,
                     "--appendonly", appendOnly ? "yes" : "no", "--appendfsync", appendFsync,
                 }.Concat(extraArgs ?? []))
            info.ArgumentList.Add(a);
        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start; install it with apt-get install redis-server.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, p);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                Thread.Sleep(50);
            }
        }
        return (process, p);
    }

    public async Task DisposeAsync()
    {
        Redis?.Dispose();
        if (_container is not null) await _container.DisposeAsync();
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}
