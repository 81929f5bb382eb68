using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// One node of the real service: <c>dotnet JobApi.dll</c> as a child process with its own port, role and
/// settings (environment variables, as in production). It can be SIGKILLed, SIGSTOPped, SIGCONTed and
/// started again; every incarnation's stdout and stderr go to one bounded log for diagnostics.
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private const int MaxLogLines = 20_000;
    private static readonly HttpClient Health = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly ConcurrentQueue<string> _log = new();
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly string _workingDirectory;
    private Process? _process;
    private int _incarnation;

    private readonly string _listenHost;

    /// <param name="listenHost">the host of <c>--urls</c>; health checks still go to 127.0.0.1</param>
    public ServiceProcess(string name, string roles, IReadOnlyDictionary<string, string> settings, string workingDirectory, string listenHost = "127.0.0.1")
    {
        _listenHost = listenHost;
        Name = name;
        Roles = roles;
        _settings = settings;
        _workingDirectory = workingDirectory;
        Port = LoopbackPorts.Next();
    }

    public string Name { get; }
    public string Roles { get; }
    public int Port { get; }
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");
    public int Pid => _process?.Id ?? throw new InvalidOperationException($"{Name} is not running.");

    /// <summary>The id the service gives its worker (WorkerIdentity: host:pid); shard records carry it.</summary>
    public string WorkerId => $"{Environment.MachineName}:{Pid}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Started by the test and since gone without the test killing it: a crash or a self-stop.</summary>
    public bool ExitedOnItsOwn => _process is { HasExited: true };

    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;
    public bool RunsApi => Roles.Contains("Api", StringComparison.Ordinal);

    /// <summary>Set for a node armed to crash on purpose (fault injection): its exits do not fail the scenario.</summary>
    public bool MayCrash { get; init; }

    /// <summary>Resident set size of the running process (VmRSS), in bytes.</summary>
    public long RssBytes() => ProcStatusBytes("VmRSS:");

    /// <summary>The highest resident set size the process has had so far (VmHWM, its high-water mark), in bytes.</summary>
    public long PeakRssBytes() => ProcStatusBytes("VmHWM:");

    private long ProcStatusBytes(string field)
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>SIGTERM: the graceful shutdown an orchestrator asks for.</summary>
    public void Terminate() => Signal(Signals.Terminate, "terminated (SIGTERM)");

    /// <summary>Waits for the process to exit by itself; returns its exit code, or null at the deadline.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException($"{Name} is not running.");
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Forgets an incarnation that has exited (crashed on purpose), so the node can be started again.</summary>
    public void Reap()
    {
        if (_process is { HasExited: true }) Kill();
    }

    /// <summary>Starts the process and waits until it answers its health endpoint (ready for an API node,
    /// live for a worker-only node, which maps no other endpoint).</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        if (IsRunning) throw new InvalidOperationException($"{Name} is already running.");
        var incarnation = ++_incarnation;
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = _workingDirectory,
        };
        info.ArgumentList.Add(ServiceBinary.Path);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://{_listenHost}:{Port}");
        // Nothing of the test host's own configuration may leak into the node.
        foreach (var key in info.Environment.Keys.ToList())
            if (key.StartsWith("JobApi__", StringComparison.OrdinalIgnoreCase) || key.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase) || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                || key.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase))
                info.Environment.Remove(key);
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["JobApi__Roles"] = Roles;
        info.Environment["Logging__LogLevel__Default"] = "Information";
        info.Environment["Logging__LogLevel__Microsoft"] = "Warning";
        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var (key, value) in _settings) info.Environment[key] = value;

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(incarnation, "out", e.Data);
        process.ErrorDataReceived += (_, e) => Append(incarnation, "err", e.Data);
        if (!process.Start()) throw new InvalidOperationException($"{Name}: dotnet did not start.");
        ChildProcesses.Track(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Append(incarnation, "test", $"started pid {process.Id} on port {Port} as {Roles}");
        await WaitHealthyAsync(timeout ?? TimeSpan.FromSeconds(45));
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var path = RunsApi ? "/health/ready" : "/health/live";
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            // An armed node may reach its crash point (work was queued for it) before it answers a probe.
            if (_process!.HasExited && MayCrash && _process.ExitCode == 137) return;
            if (_process.HasExited)
            {
                // The parameterless wait also waits until the output readers have delivered the last lines (the reason).
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} while starting.\n{LogTail()}");
            }
            try
            {
                using var response = await Health.GetAsync(new Uri(BaseAddress, path));
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Name} did not become healthy on {path} within {timeout}.\n{LogTail()}");
            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILL: no shutdown, no lease release, exactly what a crash looks like.</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null) return;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        Append(_incarnation, "test", $"killed pid {process.Id}");
        process.Dispose();
        _process = null;
    }

    /// <summary>SIGSTOP: the process freezes with its connections open, like a long GC pause or a VM stall.</summary>
    public void Stop() => Signal(Signals.Stop, "stopped (SIGSTOP)");

    /// <summary>SIGCONT: the frozen process goes on where it stopped.</summary>
    public void Continue() => Signal(Signals.Continue, "continued (SIGCONT)");

    public async Task RestartAsync()
    {
        Kill();
        await StartAsync();
    }

    private void Signal(int signal, string what)
    {
        if (Signals.Send(Pid, signal) != 0) throw new InvalidOperationException($"{Name}: kill({Pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        Append(_incarnation, "test", what);
    }

    public string Log => string.Join('\n', _log);

    public bool LogContains(string text) => _log.Any(l => l.Contains(text, StringComparison.OrdinalIgnoreCase));

    public string LogTail(int lines = 150) => string.Join('\n', _log.TakeLast(lines));

    private void Append(int incarnation, string stream, string? line)
    {
        if (line is null) return;
        _log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} [{Name}#{incarnation} {stream}] {line}");
        while (_log.Count > MaxLogLines) _log.TryDequeue(out _);
    }

    public void Dispose()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited) Signals.Send(_process.Id, Signals.Continue);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        Kill();
    }

    /// <summary>The dotnet host that runs the tests (set by the dotnet CLI), else the one on PATH.</summary>
    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return "dotnet";
    }
}

/// <summary>Finds the built service: <c>JOBAPI_FAULT_BINARY</c> when set (another build, e.g. a published one);
/// else src/JobApi/bin/&lt;Configuration&gt;/net10.0/JobApi.dll of this checkout, in the configuration the tests
/// were built in; else the copy in the test output (it has its runtimeconfig beside it).</summary>
public static class ServiceBinary
{
    private static readonly Lazy<string> Located = new(Locate);

    public static string Path => Located.Value;

    private static string Locate()
    {
        var chosen = Environment.GetEnvironmentVariable("JOBAPI_FAULT_BINARY");
        if (!string.IsNullOrEmpty(chosen))
            return File.Exists(chosen) ? System.IO.Path.GetFullPath(chosen) : throw new FileNotFoundException($"JOBAPI_FAULT_BINARY={chosen} does not exist.");
        var configuration = typeof(ServiceBinary).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(System.IO.Path.Combine(dir.FullName, "JobApi.sln"))) continue;
            var dll = System.IO.Path.Combine(dir.FullName, "src", "JobApi", "bin", configuration, "net10.0", "JobApi.dll");
            if (File.Exists(dll)) return dll;
            break;
        }
        var copy = System.IO.Path.Combine(AppContext.BaseDirectory, "JobApi.dll");
        if (File.Exists(copy) && File.Exists(System.IO.Path.Combine(AppContext.BaseDirectory, "JobApi.runtimeconfig.json"))) return copy;
        throw new FileNotFoundException($"JobApi.dll ({configuration}) was found neither under src/JobApi/bin nor in {AppContext.BaseDirectory}; build the solution first.");
    }
}

/// <summary>POSIX signals through libc (Process has only Kill).</summary>
internal static class Signals
{
    public const int Continue = 18; // SIGCONT on Linux (x64 and arm64)
    public const int Stop = 19;     // SIGSTOP on Linux (x64 and arm64)
    public const int Terminate = 15; // SIGTERM

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    public static int Send(int pid, int signal)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("The fault tests send Linux signal numbers.");
        return SysKill(pid, signal);
    }
}

/// <summary>Last line of defence: every child a fault test starts is killed when the test host exits,
/// even if a test forgot (or failed before) its own cleanup.</summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Live = new();

    static ChildProcesses()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public static void Track(Process process)
    {
        var pid = process.Id;
        Live[pid] = process;
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => Live.TryRemove(pid, out _);
    }

    private static void KillAll()
    {
        foreach (var process in Live.Values)
        {
            try
            {
                Signals.Send(process.Id, Signals.Continue);
                process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // already gone
            }
        }
    }
}
