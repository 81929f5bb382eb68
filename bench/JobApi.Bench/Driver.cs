using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace JobApi.Bench;

/// <summary>
/// The load driver: runs the peers' scenarios against our service over HTTP, the way users drive it, with
/// the API and the worker as separate processes on the Redis at $PEERS_REDIS_PORT, and appends the peers'
/// JSON lines to $PEERS_RESULTS. FLUSHALL before each scenario.
/// </summary>
public static class Driver
{
    internal const string Prefix = "bench";
    internal static readonly object NoopBody = new { kind = "noop", input = new { }, shards = 1 };

    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(Environment.GetEnvironmentVariable("PEERS_REDIS_PORT") ?? "6391", System.Globalization.CultureInfo.InvariantCulture);
        var n = Env("PEERS_N", 20_000);
        var only = (Environment.GetEnvironmentVariable("JOBAPI_BENCH_ONLY") ?? "S1 S1b S2 S3").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var results = new Results(Environment.GetEnvironmentVariable("PEERS_RESULTS"));
        await using var redis = await RedisProbe.ConnectAsync($"127.0.0.1:{port}");

        if (only.Contains("S1"))
            foreach (var c in Concurrencies([1, 8, 32])) await ManyJobsAsync(redis, port, results, n, c);
        if (only.Contains("S1b"))
            foreach (var c in Concurrencies([1, 8, 32])) await OneBigJobAsync(redis, port, results, n, c);
        if (only.Contains("S2"))
            foreach (var c in Concurrencies([2, 8, 32])) await FanOutAsync(redis, port, results, Env("PEERS_SHARDS", 1000), c);
        if (only.Contains("S3"))
        {
            foreach (var seen in new[] { Seen.ResultWait, Seen.PreferWait, Seen.EventsStream })
            {
                await LatencyAsync(redis, port, results, Env("PEERS_LAT", 1000), oneNode: false, seen);
                await LatencyAsync(redis, port, results, Env("PEERS_LAT", 1000), oneNode: true, seen);
            }
        }
        return 0;
    }

    /// <summary>The worker concurrencies to try: $JOBAPI_BENCH_CONCURRENCY (e.g. "32") when set, otherwise the scenario's.</summary>
    private static int[] Concurrencies(int[] scenario) =>
        Environment.GetEnvironmentVariable("JOBAPI_BENCH_CONCURRENCY") is { Length: > 0 } list
            ? [.. list.Split(' ', ',').Where(x => x.Length > 0).Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).Where(scenario.Contains)]
            : scenario;

    internal static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;

    internal static HttpClient Client(ServiceNode api) => new(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
    {
        BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(120),
    };

    /// <summary>S1: N one-shard noop jobs submitted over HTTP by 32 clients (timed: enqueue), then a worker
    /// with concurrency c drains them (timed on the Redis clock: first shard start to last job finish).</summary>
    private static async Task ManyJobsAsync(RedisProbe redis, int port, Results results, int n, int c)
    {
        await redis.FlushAsync();
        await using var api = await ServiceNode.StartAsync($"127.0.0.1:{port}", "Api", 1, Prefix);
        using var http = Client(api);
        await using var worker = await ServiceNode.StartAsync($"127.0.0.1:{port}", "Worker", c, Prefix);
        // Warm-up of both processes (the worker runs these jobs), then the worker waits frozen while the queue fills.
        await SubmitManyAsync(http, 500, 32);
        var cpu = await FreezeWarmWorkerAsync(redis, worker);
        var clock = Stopwatch.StartNew();
        await SubmitManyAsync(http, n, 32);
        results.Add("S1", "HTTP POST, 32 in flight", "enqueue_jobs_per_s", n / clock.Elapsed.TotalSeconds, "jobs/s", new { n });

        await MeasureProcessingAsync(redis, results, $"concurrency={c}", n, worker, cpu, n);
    }

    /// <summary>S1 (b): one noop job of N shards, drained by a worker with concurrency c.</summary>
    private static async Task OneBigJobAsync(RedisProbe redis, int port, Results results, int n, int c)
    {
        await redis.FlushAsync();
        await using var api = await ServiceNode.StartAsync($"127.0.0.1:{port}", "Api", 1, Prefix);
        using var http = Client(api);
        await using var worker = await ServiceNode.StartAsync($"127.0.0.1:{port}", "Worker", c, Prefix);
        await PostAsync(http, new { kind = "noop", input = new { }, shards = 500 });
        var cpu = await FreezeWarmWorkerAsync(redis, worker);
        await PostAsync(http, new { kind = "noop", input = new { }, shards = n });
        await MeasureProcessingAsync(redis, results, $"one job of {n} shards, concurrency={c}", n, worker, cpu, 1);
    }

    /// <summary>Waits until the worker has run the warm-up work (its code is compiled), freezes it, clears Redis and
    /// returns the worker's CPU so far: what the measured drain adds to it is the worker's CPU for the work.</summary>
    private static async Task<double> FreezeWarmWorkerAsync(RedisProbe redis, ServiceNode worker)
    {
        await WaitDrainedAsync(redis, TimeSpan.FromMinutes(1));
        await Task.Delay(200);
        await worker.FreezeAsync();
        await redis.FlushAsync();
        return worker.CpuSeconds;
    }

    /// <summary>Waits until no job of the bench is unfinished, at most <paramref name="limit"/>.</summary>
    private static async Task WaitDrainedAsync(RedisProbe redis, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (await redis.PendingAsync(Prefix) > 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
    }

    /// <summary>Thaws the frozen worker over the full queue and times the drain on the Redis clock.</summary>
    private static async Task MeasureProcessingAsync(RedisProbe redis, Results results, string setting, int shards, ServiceNode worker, double cpuBefore, int jobs)
    {
        await redis.ResetStatsAsync();
        var redisCpu = await redis.CpuSecondsAsync();
        await worker.ThawAsync();
        await WaitDrainedAsync(redis, TimeSpan.FromMinutes(3));
        var workerCpu = worker.CpuSeconds - cpuBefore;
        redisCpu = await redis.CpuSecondsAsync() - redisCpu;
        // Counted before the window is read: that read is one command per job of the bench's own.
        var (total, scripts) = await redis.CommandCountsAsync();
        var (first, last) = await redis.WindowAsync(Prefix);
        var seconds = (last - first) / 1000;
        results.Add("S1", setting, "process_jobs_per_s", shards / seconds, "jobs/s", new
        {
            n = shards, jobs, seconds,
            worker_cpu_us_per_job = workerCpu * 1e6 / shards,
            redis_cpu_us_per_job = redisCpu * 1e6 / shards,
            redis_commands_per_shard = (double)total / shards,
            script_calls_per_shard = (double)scripts / shards,
        });
    }

    /// <summary>S2: one job of 1,000 trial-division shards, submit → result read back, against the
    /// single-thread no-queue floor measured in this process in the same run. In the peers' order: the floor (after
    /// 50 calls, as the Hangfire harness warms it), then the nodes and a 50-shard warm-up flow, then the timed job
    /// at once (with the floor between the warm-up and the job, the idle nodes took 8-10 ms longer over its submit).</summary>
    private static async Task FanOutAsync(RedisProbe redis, int port, Results results, int shards, int c)
    {
        await redis.FlushAsync();
        for (var i = 0; i < 50; i++) TrialDivisionPrimes.CountPrimes(20_000);
        var floor = Stopwatch.StartNew();
        long check = 0;
        for (var i = 0; i < shards; i++) check += TrialDivisionPrimes.CountPrimes(20_000);
        results.Add("S2", "no queue, 1 thread", "compute_only_ms", floor.Elapsed.TotalMilliseconds, "ms", new { shards });
        await using var api = await ServiceNode.StartAsync($"127.0.0.1:{port}", "Api", 1, Prefix);
        await using var worker = await ServiceNode.StartAsync($"127.0.0.1:{port}", "Worker", c, Prefix);
        using var http = Client(api);
        await Task.WhenAll(api.RuntimeAsync(), worker.RuntimeAsync()); // the first read of /metrics compiles its own code
        await RunFanOutAsync(http, 50); // warm-up flow
        await Task.WhenAll(api.RuntimeAsync(), worker.RuntimeAsync()); // and so does the first with histograms to write
        var (ms, row) = await TimedFanOutAsync(redis, api, worker, http, shards, check);
        results.Add("S2", $"concurrency={c}", "fanout_e2e_ms", ms, "ms", row);
        // The same nodes a job later: what a node that has run the kind before takes (the timed job above is the nodes'
        // second flow: they still compile code paths the warm-up did not take, see api_jit and worker_jit).
        if (c != 32) return;
        await RunFanOutAsync(http, shards);
        (ms, row) = await TimedFanOutAsync(redis, api, worker, http, shards, check);
        results.Add("S2", $"concurrency={c}, warm nodes (their 4th fan-out)", "fanout_e2e_ms", ms, "ms", row);
    }

    /// <summary>One timed fan-out job: its time, and where it went.</summary>
    private static async Task<(double Ms, object Row)> TimedFanOutAsync(RedisProbe redis, ServiceNode api, ServiceNode worker, HttpClient http, int shards, long check)
    {
        var (apiRuntime, workerRuntime) = (await api.RuntimeAsync(), await worker.RuntimeAsync());
        var (apiCpu, workerCpu, redisCpu) = (api.CpuSeconds, worker.CpuSeconds, await redis.CpuSecondsAsync());
        var sent = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var (sum, id) = await FanOutJobAsync(http, shards);
        var ms = clock.Elapsed.TotalMilliseconds;
        var seen = DateTime.UtcNow;
        (apiCpu, workerCpu, redisCpu) = (api.CpuSeconds - apiCpu, worker.CpuSeconds - workerCpu, await redis.CpuSecondsAsync() - redisCpu);
        var (apiAfter, workerAfter) = (await api.RuntimeAsync(), await worker.RuntimeAsync());
        if (Environment.GetEnvironmentVariable("JOBAPI_BENCH_JITLOG") is { Length: > 0 })
            Console.Error.WriteLine($"S2 job {id}: the API node (port {api.Port}) compiled methods {apiRuntime.JitMethods}-{apiAfter.JitMethods}, the worker (port {worker.Port}) {workerRuntime.JitMethods}-{workerAfter.JitMethods}");
        // Where the time went, from the job's own times (ms on this machine's clock): the submit call until the job
        // existed, the wait for its first lease, the run with its merge, and the wait for the client to see the end.
        using var status = JsonDocument.Parse(await http.GetStringAsync($"/v1/jobs/{id}"));
        DateTime At(string name) => status.RootElement.GetProperty(name).GetDateTime();
        double Ms(DateTime from, DateTime to) => Math.Round((to - from).TotalMilliseconds, 1);
        return (ms, new
        {
            shards, aggregate = sum, verified = sum == check && sum == 2262L * shards,
            submit_ms = Ms(sent, At("createdAt")), queued_ms = Ms(At("createdAt"), At("startedAt")),
            run_ms = Ms(At("startedAt"), At("finishedAt")), seen_ms = Ms(At("finishedAt"), seen),
            // CPU over the job (ms): the two cores' budget is twice its time.
            api_cpu_ms = Math.Round(apiCpu * 1000), worker_cpu_ms = Math.Round(workerCpu * 1000), redis_cpu_ms = Math.Round(redisCpu * 1000),
            // Methods the JIT compiled during the job, its time in ms, and garbage collections, per node.
            api_jit = RuntimeDelta(apiRuntime, apiAfter), worker_jit = RuntimeDelta(workerRuntime, workerAfter),
        });
    }

    /// <summary>What a node's runtime did between two reads: methods compiled, JIT time in ms, garbage collections.</summary>
    private static double[] RuntimeDelta((long JitMethods, double JitSeconds, long Collections) before, (long JitMethods, double JitSeconds, long Collections) after) =>
        [after.JitMethods - before.JitMethods, Math.Round((after.JitSeconds - before.JitSeconds) * 1000), after.Collections - before.Collections];

    internal static async Task<long> RunFanOutAsync(HttpClient http, int shards) => (await FanOutJobAsync(http, shards)).Sum;

    private static async Task<(long Sum, string Id)> FanOutJobAsync(HttpClient http, int shards)
    {
        var id = await PostAsync(http, new { kind = TrialDivisionPrimes.KindName, input = new { limit = 20_000 }, shards });
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"/v1/jobs/{id}/result?waitSeconds=60"));
        return (doc.RootElement.GetProperty("result").GetProperty("sum").GetInt64(), id);
    }

    /// <summary>How an S3 client learns that its job ended.</summary>
    private enum Seen
    {
        /// <summary>The contract's two calls: the submit, then <c>GET /result?waitSeconds</c>.</summary>
        ResultWait,
        /// <summary>One call: the submit with <c>Prefer: wait</c>, whose answer is the result.</summary>
        PreferWait,
        /// <summary>The submit, then the job's <c>end</c> message on the tenant's events stream (<c>GET /v1/events</c>),
        /// opened once for all jobs, as BullMQ's producer listens on its queue's events.</summary>
        EventsStream,
    }

    /// <summary>S3: one job at a time, from the submit call to the client seeing it completed (<paramref name="seen"/>).
    /// Against an API node and a worker node, as in the other scenarios, and against one node with both roles, the
    /// service's default (what <c>run.sh</c> starts).</summary>
    private static async Task LatencyAsync(RedisProbe redis, int port, Results results, int count, bool oneNode, Seen seen)
    {
        await redis.FlushAsync();
        await using var api = await ServiceNode.StartAsync($"127.0.0.1:{port}", oneNode ? "Api,Worker" : "Api", 1, Prefix);
        await using var worker = oneNode ? null : await ServiceNode.StartAsync($"127.0.0.1:{port}", "Worker", 1, Prefix);
        using var http = Client(api);
        await using var stream = seen == Seen.EventsStream ? await EndsStream.OpenAsync(http) : null;
        var total = new List<double>();
        var enqueue = new List<double>();
        for (var i = -50; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            if (seen == Seen.PreferWait)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = JsonBody(NoopBody) };
                request.Headers.Add("Prefer", "wait=30");
                using var answer = await http.SendAsync(request);
                if ((int)answer.StatusCode != 200) throw new InvalidOperationException($"submit with Prefer: wait: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
                using var doc = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
                if (doc.RootElement.GetProperty("result").GetProperty("shards").GetInt32() != 1) throw new InvalidOperationException("submit with Prefer: wait: wrong result");
                if (i >= 0) total.Add(clock.Elapsed.TotalMilliseconds);
                continue;
            }
            var id = await PostAsync(http, NoopBody);
            var submitted = clock.Elapsed.TotalMilliseconds;
            if (stream is not null)
            {
                var end = await stream.EndOfAsync(id).WaitAsync(TimeSpan.FromSeconds(30));
                if (end.GetProperty("state").GetString() != "succeeded" || end.GetProperty("result").GetProperty("shards").GetInt32() != 1)
                    throw new InvalidOperationException($"job {id}: {end}");
            }
            else
            {
                using var response = await http.GetAsync($"/v1/jobs/{id}/result?waitSeconds=30");
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"job {id}: {await response.Content.ReadAsStringAsync()}");
            }
            if (i < 0) continue; // warm-up
            total.Add(clock.Elapsed.TotalMilliseconds);
            enqueue.Add(submitted);
        }
        total.Sort();
        enqueue.Sort();
        var setting = (oneNode ? "concurrency=1, one node (Api,Worker), " : "concurrency=1, ") + seen switch
        {
            Seen.PreferWait => "submit with Prefer: wait",
            Seen.EventsStream => "submit, end on GET /v1/events",
            _ => "result?waitSeconds",
        };
        results.Add("S3", setting, "latency_p50_ms", Pct(total, 50), "ms", new { n = count });
        // With Prefer: wait the submit call is the whole round trip.
        var calls = seen == Seen.PreferWait ? total : enqueue;
        results.Add("S3", setting, "latency_p99_ms", Pct(total, 99), "ms", new
        {
            n = count, p90 = Pct(total, 90), p999 = Pct(total, 99.9), mean = total.Average(), max = total[^1],
            enqueue_call_p50 = Pct(calls, 50), enqueue_call_p99 = Pct(calls, 99),
        });
    }

    private static double Pct(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1)];

    internal static async Task SubmitManyAsync(HttpClient http, int n, int inFlight)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < n) await PostAsync(http, NoopBody);
        }));
    }

    /// <summary>A JSON request body sent with its length, as curl, browsers and most HTTP clients send one (.NET's
    /// <c>JsonContent</c> streams it chunked, which costs both ends some 60-90 us per request here).</summary>
    internal static ByteArrayContent JsonBody(object body)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body));
        content.Headers.ContentType = new("application/json");
        return content;
    }

    internal static async Task<string> PostAsync(HttpClient http, object body)
    {
        using var response = await http.PostAsync("/v1/jobs", JsonBody(body));
        if ((int)response.StatusCode != 202) throw new InvalidOperationException($"submit: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("id").GetString()!;
    }
}
