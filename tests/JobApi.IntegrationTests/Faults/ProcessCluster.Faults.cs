using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.IntegrationTests.Faults;

/// <summary>What the fault scenarios need beyond starting and killing processes: where work is in flight,
/// when it is committed again, memory, and the final tally of every accepted job.</summary>
public sealed partial class ProcessCluster
{
    /// <summary>Settings that arm the service's test-only crash points (Engine/FaultInjection.cs).</summary>
    public static Dictionary<string, string> Armed(params (string Key, string Value)[] faults)
    {
        var settings = new Dictionary<string, string> { ["JOBAPI_FAULT_INJECTION"] = "enabled" };
        foreach (var (key, value) in faults) settings[$"JobApi__Faults__{key}"] = value;
        return settings;
    }

    /// <summary>Shards of these jobs that a worker holds now (under a lease of its, still in flight), read from the
    /// job's lease records (<c>batches</c>: fence → worker|startedAt|indexes) and <c>inflight</c>, and from a one-shard
    /// job's hold (job hash fields <c>hold</c> and <c>holdBy</c>: worker|startedAt).</summary>
    public async Task<List<(string JobId, int Index)>> HeldByAsync(IEnumerable<string> jobIds, string workerId)
    {
        var held = new List<(string, int)>();
        foreach (var jobId in jobIds)
        {
            var hold = await Db.HashGetAsync(JobKey(jobId, "job"), ["hold", "holdBy"]);
            if (!hold[0].IsNullOrEmpty && ((string?)hold[1])?.Split('|')[0] == workerId) held.Add((jobId, 0));
            var inflight = (await Db.HashGetAllAsync(JobKey(jobId, "inflight"))).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
            if (inflight.Count == 0) continue;
            foreach (var entry in await Db.HashGetAllAsync(JobKey(jobId, "batches")))
            {
                var fence = (string)entry.Name!;
                if (fence.StartsWith("n:", StringComparison.Ordinal)) continue;
                var parts = ((string)entry.Value!).Split('|', 3);
                if (parts[0] != workerId) continue;
                foreach (var index in parts[2].Split(',', StringSplitOptions.RemoveEmptyEntries))
                    if (inflight.GetValueOrDefault(index) == fence) held.Add((jobId, int.Parse(index, CultureInfo.InvariantCulture)));
            }
        }
        return held;
    }

    /// <summary>Whether each shard is committed (or its job is final or gone: nothing left to recover).</summary>
    public async Task<bool> AllCommittedAsync(IReadOnlyList<(string JobId, int Index)> shards)
    {
        foreach (var (jobId, index) in shards)
        {
            if (await Db.HashExistsAsync(JobKey(jobId, "done"), index)) continue;
            var state = (string?)await Db.HashGetAsync(JobKey(jobId, "job"), "state");
            if (state is null or "succeeded" or "failed" or "canceled") continue;
            return false;
        }
        return true;
    }

    /// <summary>Starts timing the recovery of interrupted shards: done once every one of them is committed again.</summary>
    public Task WatchRecoveryAsync(FaultTally tally, IReadOnlyList<(string JobId, int Index)> interrupted, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        return Task.Run(async () =>
        {
            await WaitAsync($"{interrupted.Count} interrupted shard(s) are committed again", () => AllCommittedAsync(interrupted), timeout);
            tally.Recovered(clock.Elapsed);
        });
    }

    public IServer Server => _redis!.GetServer(_redis.GetEndPoints()[0]);

    /// <summary>INFO memory's used_memory, in bytes.</summary>
    public async Task<long> UsedMemoryAsync()
    {
        var info = (string)(await Db.ExecuteAsync("INFO", "memory"))!;
        var line = info.Split('\n').First(l => l.StartsWith("used_memory:", StringComparison.Ordinal));
        return long.Parse(line["used_memory:".Length..].Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>Every key under this cluster's prefix but the set of tenant names, read with SCAN (never KEYS).</summary>
    public async Task<List<string>> KeysAsync()
    {
        var server = _redis!.GetServer(_redis.GetEndPoints()[0]);
        var found = new List<string>();
        var keys = new RedisKeys(KeyPrefix);
        // Not job data: the names of tenants (one entry per tenant) and the heartbeats of the workers still running.
        var live = new HashSet<string> { keys.TenantSet.ToString(), keys.WorkerIndex.ToString() };
        var heartbeat = keys.Worker("").ToString().TrimEnd('}');
        await foreach (var key in server.KeysAsync(pattern: KeyPrefix + ":*", pageSize: 1000))
            if (!live.Contains(key!) && !key.ToString().StartsWith(heartbeat, StringComparison.Ordinal)) found.Add(key!);
        return found;
    }

    /// <summary>How many jobs exist for the service (its job index).</summary>
    public Task<long> JobIndexCountAsync() => Db.SortedSetLengthAsync(new RedisKeys(KeyPrefix).JobIndex(0));

    /// <summary>How many job hashes exist under this cluster's prefix (SCAN, never KEYS).</summary>
    public async Task<int> JobHashCountAsync()
    {
        var count = 0;
        await foreach (var _ in Db.Multiplexer.GetServers()[0].KeysAsync(pattern: $"{KeyPrefix}:{{*}}:job")) count++;
        return count;
    }

    /// <summary>POST /v1/jobs to one node, optionally with an Idempotency-Key: the status code and body, or
    /// null when the connection failed (the node died under the request).</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)?> PostJobAsync(HttpClient http, object body, string? idempotencyKey, string? prefer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        if (prefer is not null) request.Headers.Add("Prefer", prefer);
        try
        {
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return null;
        }
    }

    public static HttpClient ClientFor(ServiceProcess node) =>
        new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(1) }) { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Waits for every job to end and adds it to the tally: a job that is gone, not succeeded, or whose result
    /// fails <paramref name="exact"/> counts as lost. Returns the counters of the jobs that exist.</summary>
    /// <summary>Gets <paramref name="worker"/> (one slot) to hold several shards of one job at once: short shards first
    /// (thirty, so the first one's compiling is forgotten) make its shards short, so it leases ahead of its slot; the
    /// next job's long shards then come several to a lease, one running and the others waiting ahead of the slot.
    /// Returns that job and the shards held. A slow short shard at the end (a loaded host) can leave the worker's moving
    /// average long, and then it leases one shard only: that job is canceled and the whole is tried again (3 tries).</summary>
    public async Task<(string JobId, List<(string JobId, int Index)> Held)> HoldShardsAheadAsync(
        FaultTally tally, ServiceProcess worker, int shards, int sleepMs, TimeSpan timeout)
    {
        for (var attempt = 1; ; attempt++)
        {
            var warm = await SubmitAsync(new { kind = "noop", input = new { }, shards = 30 });
            await SettleAsync(tally, [warm], (_, result) => result.GetProperty("shards").GetInt32() == 30, timeout);
            var id = await SubmitAsync(new { kind = "noop", input = new { sleepMs }, shards, maxAttempts = 1 });
            List<(string JobId, int Index)> held = [];
            try
            {
                await WaitAsync("the worker holds more shards than its one slot", async () =>
                    (held = await HeldByAsync([id], worker.WorkerId)).Count >= 2, TimeSpan.FromSeconds(5));
                return (id, held);
            }
            catch (TimeoutException) when (attempt < 3)
            {
                Output.WriteLine($"try {attempt}: the worker held {held.Count} shard(s) of {id}; canceling it and trying again");
                using var cancel = await Http.PostAsync($"/v1/jobs/{id}/cancel", null);
            }
        }
    }

    public async Task<List<JobCounters>> SettleAsync(FaultTally tally, IEnumerable<string> jobIds, Func<string, JsonElement, bool> exact, TimeSpan timeout)
    {
        var all = new List<JobCounters>();
        foreach (var id in jobIds)
        {
            var final = await WaitForFinalAsync(id, timeout);
            var counters = await CountersAsync(id);
            all.Add(counters);
            var ok = final.GetProperty("state").GetString() == "succeeded" && exact(id, await ResultAsync(id));
            if (ok) tally.Job(counters);
            else
            {
                tally.Lost();
                Output.WriteLine($"NOT OK: {counters}");
            }
        }
        return all;
    }
}
