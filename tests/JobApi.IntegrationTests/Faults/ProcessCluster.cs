using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// A private deployment of real processes for one fault test: a redis-server of its own (own port,
/// append-only file in a temp dir, <c>appendfsync always</c>), and any number of service nodes
/// (<see cref="ServiceProcess"/>) sharing it under one key prefix. Dispose kills every process it started
/// and removes the temp dir; <see cref="RunAsync"/> also prints every log when the scenario fails.
/// </summary>
public sealed partial class ProcessCluster : IAsyncDisposable
{
    private readonly List<ServiceProcess> _nodes = [];
    private readonly ITestOutputHelper _output;
    public ITestOutputHelper Output => _output;
    private readonly string _dir;
    private Process? _redisProcess;
    private ConnectionMultiplexer? _redis;

    private readonly string _appendFsync;

    private ProcessCluster(ITestOutputHelper output, string name, string appendFsync)
    {
        _appendFsync = appendFsync;
        _output = output;
        _dir = Path.Combine(Path.GetTempPath(), $"jobapi-fault-{name}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(Path.Combine(_dir, "redis"));
        KeyPrefix = "fault-" + Guid.NewGuid().ToString("N")[..10];
    }

    public string KeyPrefix { get; }
    public int RedisPort { get; private set; }
    public string RedisConnectionString => $"127.0.0.1:{RedisPort}";
    public IDatabase Db => _redis!.GetDatabase();
    public HttpClient Http { get; private set; } = null!;

    /// <summary>Starts Redis, runs the scenario, prints all logs if it throws, and always tears everything down.</summary>
    public static async Task RunAsync(ITestOutputHelper output, string name, Func<ProcessCluster, Task> scenario, string appendFsync = "always")
    {
        await using var cluster = new ProcessCluster(output, name, appendFsync);
        var clock = Stopwatch.StartNew();
        try
        {
            cluster.StartRedis();
            cluster._redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
            {
                EndPoints = { cluster.RedisConnectionString }, AbortOnConnectFail = false, ConnectRetry = 10, ClientName = "fault-test", AllowAdmin = true,
            });
            await scenario(cluster);
            output.WriteLine($"scenario took {clock.Elapsed.TotalSeconds:F1} s");
        }
        catch (Exception e)
        {
            output.WriteLine($"FAILED after {clock.Elapsed.TotalSeconds:F1} s: {e.Message}");
            foreach (var node in cluster._nodes) output.WriteLine($"----- log of {node.Name} -----\n{node.LogTail(400)}");
            throw;
        }
    }

    /// <summary>Service settings shared by every node; <paramref name="overrides"/> wins.</summary>
    public Dictionary<string, string> Settings(IReadOnlyDictionary<string, string>? overrides = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = RedisConnectionString,
            ["JobApi__KeyPrefix"] = KeyPrefix,
            ["JobApi__Worker__Concurrency"] = "2",
            ["JobApi__Worker__LeaseTtl"] = "00:00:02",
            ["JobApi__Worker__RetryBackoff"] = "00:00:00.050",
            ["JobApi__Worker__IdlePoll"] = "00:00:00.100",
            ["JobApi__Worker__ShutdownGrace"] = "00:00:01",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>()) settings[key] = value;
        return settings;
    }

    /// <summary>Adds a node (not started yet). The first node with the Api role becomes <see cref="Http"/>'s target.</summary>
    public ServiceProcess AddNode(string name, string roles, IReadOnlyDictionary<string, string>? overrides = null, bool mayCrash = false)
    {
        var node = new ServiceProcess(name, roles, Settings(overrides), _dir) { MayCrash = mayCrash };
        _nodes.Add(node);
        if (node.RunsApi && Http is null)
            Http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(1) })
            {
                BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(10),
            };
        return node;
    }

    /// <summary>Starts nodes in parallel (a start is mostly the runtime warming up).</summary>
    public static Task StartAllAsync(params ServiceProcess[] nodes) => Task.WhenAll(nodes.Select(n => n.StartAsync()));

    // ---- Redis ----

    private void StartRedis()
    {
        var (process, port) = RedisServerFixture.StartLocal(appendOnly: true, dir: Path.Combine(_dir, "redis"), appendFsync: _appendFsync,
            port: RedisPort == 0 ? null : RedisPort);
        ChildProcesses.Track(process);
        _redisProcess = process;
        RedisPort = port;
    }

    /// <summary>SIGSTOP the redis-server: connections stay open, commands hang until the clients time out.</summary>
    public void StopRedis() => Signals.Send(_redisProcess!.Id, Signals.Stop);

    public void ContinueRedis() => Signals.Send(_redisProcess!.Id, Signals.Continue);

    /// <summary>Fails at once (with the node's log) when a node the test did not kill has exited.</summary>
    public void AssertNodesAlive()
    {
        var gone = _nodes.FirstOrDefault(n => n.ExitedOnItsOwn && !n.MayCrash);
        if (gone is not null)
            throw new InvalidOperationException($"Node {gone.Name} exited by itself (exit code {gone.ExitCode}); its log is in the test output.");
    }

    /// <summary>SIGKILL the redis-server: with fsync always, whatever it acknowledged is in its append-only file;
    /// with everysec, about the last second may be missing.</summary>
    public void KillRedis()
    {
        if (_redisProcess is null) return;
        if (!_redisProcess.HasExited)
        {
            _redisProcess.Kill();
            _redisProcess.WaitForExit(10_000);
        }
        _redisProcess.Dispose();
        _redisProcess = null;
    }

    /// <summary>The append-only file redis-server appends to now (Redis 7: appendonlydir/*.incr.aof).</summary>
    private string AofFile() => new DirectoryInfo(Path.Combine(_dir, "redis", "appendonlydir")).GetFiles("*.incr.aof")
        .OrderBy(f => f.LastWriteTimeUtc).Last().FullName;

    public long AofBytes() => new FileInfo(AofFile()).Length;

    /// <summary>Cuts the append-only file back to <paramref name="bytes"/> (Redis stopped): what a machine crash leaves
    /// with everysec when the last second of writes never reached the disk. Redis loads the truncated file
    /// (aof-load-truncated yes) up to the last whole command.</summary>
    public void TruncateAof(long bytes)
    {
        using var file = new FileStream(AofFile(), FileMode.Open, FileAccess.Write);
        file.SetLength(bytes);
    }

    /// <summary>Starts redis-server again on the same port and data dir; it loads its append-only file.</summary>
    public async Task RestartRedisAsync(Action? whileDown = null)
    {
        KillRedis();
        whileDown?.Invoke();
        StartRedis();
        await WaitAsync("redis answers PING after the restart", async () =>
        {
            try
            {
                await Db.PingAsync();
                return true;
            }
            catch (RedisException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20));
    }

    // ---- The job hash, read directly from Redis: raw executions vs accepted commits ----

    public async Task<JobCounters> CountersAsync(string jobId)
    {
        // Raw counters from the job hash; succeeded and failed shards are the sizes of the "done" hash and "dead" set. A
        // job that succeeded under its hold (holdBy set) has no done record: its succeeded shards are its commits.
        var v = await Db.HashGetAsync(JobKey(jobId, "job"), ["state", "total", "attempts", "commits", "error", "holdBy"]);
        if (v[0].IsNull) throw new InvalidOperationException($"Job {jobId} has no hash under prefix {KeyPrefix}.");
        var succeeded = await Db.HashLengthAsync(JobKey(jobId, "done"));
        if (succeeded == 0 && v[0] == "succeeded" && !v[5].IsNull) succeeded = (long)v[3];
        var failed = await Db.SetLengthAsync(JobKey(jobId, "dead"));
        return new JobCounters(jobId, v[0]!, (long)v[1], (long)v[2], (long)v[3], succeeded, failed, v[4].IsNull ? null : (string?)v[4]);
    }

    public async Task<JobCounters> ReportAsync(string label, string jobId)
    {
        var counters = await CountersAsync(jobId);
        _output.WriteLine($"{label}: {counters}");
        return counters;
    }

    /// <summary>The fence of the lease that holds shard <paramref name="index"/> now (the service keeps it in "inflight",
    /// or, for a one-shard job's first lease, in the job hash's "hold"), or null.</summary>
    public async Task<string?> FenceOfAsync(string jobId, int index)
    {
        var fence = await Db.HashGetAsync(JobKey(jobId, "inflight"), index.ToString(CultureInfo.InvariantCulture));
        if (!fence.IsNull || index != 0) return fence;
        var hold = await Db.HashGetAsync(JobKey(jobId, "job"), "hold");
        return hold.IsNullOrEmpty ? null : (string?)hold;
    }

    /// <summary>Whether lease <paramref name="fence"/> of the job is a hold (kept in the job hash, no lease key).</summary>
    public async Task<bool> IsHoldAsync(string jobId, string fence) => await Db.HashGetAsync(JobKey(jobId, "job"), "hold") == fence;

    /// <summary>The deadline (ms) of lease <paramref name="fence"/>: its "running" score, or a hold's "holdUntil".</summary>
    public async Task<double?> LeaseDeadlineAsync(string jobId, string fence) => await IsHoldAsync(jobId, fence)
        ? (double?)await Db.HashGetAsync(JobKey(jobId, "job"), "holdUntil")
        : await Db.SortedSetScoreAsync(JobKey(jobId, "running"), fence);

    /// <summary>Makes lease <paramref name="fence"/> run out now, behind its worker's back, in one transaction: its key
    /// deleted and its deadline in the past (for a hold, the deadline alone).</summary>
    public async Task ExpireLeaseAsync(string jobId, string fence)
    {
        var expire = Db.CreateTransaction();
        if (await IsHoldAsync(jobId, fence))
        {
            expire.AddCondition(Condition.HashEqual(JobKey(jobId, "job"), "hold", fence));
            _ = expire.HashSetAsync(JobKey(jobId, "job"), "holdUntil", 0);
        }
        else
        {
            _ = expire.KeyDeleteAsync(JobKey(jobId, "lease:" + fence));
            _ = expire.SortedSetAddAsync(JobKey(jobId, "running"), fence, 0);
        }
        if (!await expire.ExecuteAsync()) throw new InvalidOperationException($"lease {jobId}/{fence} ended before it could be expired");
    }

    /// <summary>The key of the lease that holds shard <paramref name="index"/> now.</summary>
    public async Task<string> LeaseKeyAsync(string jobId, int index) =>
        JobKey(jobId, "lease:" + (await FenceOfAsync(jobId, index) ?? throw new InvalidOperationException($"shard {index} of {jobId} is not in flight")));

    /// <summary>One of the job's keys (RedisKeys.JobKeys spells them for the service: "job", "running", ...).</summary>
    public string JobKey(string jobId, string suffix) => $"{KeyPrefix}:{{{jobId}}}:{suffix}";

    // ---- HTTP against the API node ----

    public async Task<string> SubmitAsync(object body)
    {
        using var response = await Http.PostAsJsonAsync("/v1/jobs", body);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Accepted) throw new InvalidOperationException($"Submit returned {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>The job status, or null while the API cannot answer (a node or Redis is down).</summary>
    public async Task<JsonElement?> TryStatusAsync(string jobId) => await TryGetAsync($"/v1/jobs/{jobId}");

    public async Task<IReadOnlyList<JsonElement>> ShardsAsync(string jobId)
    {
        var page = await TryGetAsync($"/v1/jobs/{jobId}/shards?limit=1000");
        return page is { } p ? p.GetProperty("items").EnumerateArray().ToArray() : [];
    }

    public async Task<JsonElement> ResultAsync(string jobId)
    {
        var body = await TryGetAsync($"/v1/jobs/{jobId}/result") ?? throw new InvalidOperationException($"No result for {jobId}.");
        return body.GetProperty("result");
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> GetRawAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<JsonElement?> TryGetAsync(string path)
    {
        try
        {
            using var response = await Http.GetAsync(path);
            if (!response.IsSuccessStatusCode) return null;
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits for the job to reach a final state and returns that status.</summary>
    public async Task<JsonElement> WaitForFinalAsync(string jobId, TimeSpan timeout)
    {
        JsonElement? last = null;
        await WaitAsync($"job {jobId} finishes", async () =>
        {
            AssertNodesAlive();
            last = await TryStatusAsync(jobId) ?? last;
            return last?.GetProperty("state").GetString() is "succeeded" or "failed" or "canceled";
        }, timeout, () => last?.ToString() ?? "(no status)");
        return last!.Value;
    }

    /// <summary>Polls a condition until it holds; fails with a description (and the last observation) at the deadline.</summary>
    public static async Task WaitAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, Func<string>? observed = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:F0} s waiting until {what}. Last seen: {observed?.Invoke() ?? "-"}");
            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes) node.Dispose();
        KillRedis();
        Http?.Dispose();
        if (_redis is not null) await _redis.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // a file still held open; the temp dir is cleaned by the OS
        }
    }
}

/// <summary>The job hash counters: <c>attempts</c> are raw leases (executions), <c>commits</c> accepted results.</summary>
public sealed record JobCounters(string JobId, string State, long Total, long Attempts, long Commits, long Succeeded, long Failed, string? Error)
{
    public override string ToString() =>
        $"job {JobId} state={State} total={Total} attempts(raw executions)={Attempts} commits(accepted)={Commits} succeeded={Succeeded} failed={Failed}" +
        (Error is null ? "" : $" error=\"{Error}\"");
}
