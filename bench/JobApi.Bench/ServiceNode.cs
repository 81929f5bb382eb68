using System.Diagnostics;
using JobApi.LocalRedis;

namespace JobApi.Bench;

/// <summary>One node of the service as its own OS process (this binary in <c>serve</c> mode), bound to loopback.</summary>
public sealed class ServiceNode : IAsyncDisposable
{
    private readonly Process _process;

    private ServiceNode(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public int Pid => _process.Id;
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    /// <summary>CPU seconds (user + system) the process has used so far.</summary>
    public double CpuSeconds
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime.TotalSeconds;
        }
    }

    /// <summary>Starts a node on <paramref name="redis"/> (a connection string: one server or the cluster's nodes) with
    /// <paramref name="partitions"/> queue partitions.</summary>
    public static async Task<ServiceNode> StartAsync(string redis, string roles, int concurrency, string prefix = "bench", int partitions = 1)
    {
        var port = LoopbackPorts.Next();
        var info = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(info.FileName) == "dotnet") info.ArgumentList.Add(typeof(ServiceNode).Assembly.Location);
        foreach (var a in new[] { "serve", "--urls", $"http://127.0.0.1:{port}" }) info.ArgumentList.Add(a);
        info.Environment["ConnectionStrings__Redis"] = redis;
        info.Environment["JobApi__Queue__Partitions"] = partitions.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["JobApi__Roles"] = roles;
        info.Environment["JobApi__KeyPrefix"] = prefix;
        info.Environment["JobApi__Worker__Concurrency"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["DOTNET_gcServer"] = "0";
        // As run.sh and the image run the service: framework code compiled at its first call, not precompiled (ServiceRuntime.props).
        info.Environment["DOTNET_ReadyToRun"] = Environment.GetEnvironmentVariable("JOBAPI_BENCH_READYTORUN") ?? "0";
        // A diagnosis aid: every method each node compiles, numbered in order ("JIT compiled ..."), one file per node.
        if (Environment.GetEnvironmentVariable("JOBAPI_BENCH_JITLOG") is { Length: > 0 } jitLog)
        {
            info.Environment["DOTNET_JitStdOutFile"] = Path.Combine(jitLog, $"jit-{roles.Replace(',', '-')}-{port}.txt");
            info.Environment["DOTNET_JitDisasmSummary"] = "1";
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) Console.Error.WriteLine($"[{roles}] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) Console.Error.WriteLine($"[{roles}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var node = new ServiceNode(process, port);
        using var http = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"{roles} node exited with {process.ExitCode}");
            try
            {
                if ((await http.GetAsync("/health/live")).IsSuccessStatusCode) return node;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{roles} node did not start");
            await Task.Delay(100);
        }
    }

    /// <summary>The runtime's counts at <c>/metrics</c> (meter System.Runtime): methods compiled by the JIT so far, the
    /// time spent compiling them, and garbage collections of any generation.</summary>
    public async Task<(long JitMethods, double JitSeconds, long Collections)> RuntimeAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var text = await http.GetStringAsync("/metrics");
        double Sum(string metric) => text.Split('\n').Where(l => l.StartsWith(metric, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        return ((long)Sum("dotnet_jit_compiled_methods_total"), Sum("dotnet_jit_compilation_time_seconds_total"), (long)Sum("dotnet_gc_collections_total"));
    }

    /// <summary>SIGSTOP / SIGCONT: workers started and ready but frozen, so that several of them meet queued work at
    /// the same moment (a staggered start would let the first one take the head of the queue alone).</summary>
    public Task FreezeAsync() => SignalAsync("-STOP");

    public Task ThawAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [signal, Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill {signal} {Pid} failed");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
