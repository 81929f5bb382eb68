using System.Globalization;
using System.Text.RegularExpressions;

namespace JobApi.IntegrationTests.Watching;

/// <summary>Runs alone (no other service in the process counts into the same meter while it measures).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "metrics";
}

/// <summary>GET /metrics after a known workload: every counter moves by exactly what the workload did.</summary>
[Collection(MetricsCollection.Name)]
public sealed partial class MetricsTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex Sample();

    private async Task<Dictionary<string, double>> ScrapeAsync()
    {
        using var response = await Client.GetAsync("/metrics");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (Match m in Sample().Matches(text))
        {
            var labels = Regex.Replace(m.Groups["labels"].Value, @"otel_scope_name=""[^""]*"",?", "").TrimEnd(',');
            samples[labels.Length == 0 ? m.Groups["name"].Value : $"{m.Groups["name"].Value}{{{labels}}}"] =
                double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        return samples;
    }

    [Fact]
    public async Task Counters_after_a_known_workload_match_what_the_workload_did()
    {
        var before = await ScrapeAsync();
        var ok = new[]
        {
            await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 5 }),
            await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 5 }),
            await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 1 }, shards = 2, maxAttempts = 3 }),
        };
        var dead = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 9 }, shards = 1, maxAttempts = 1 });
        var canceled = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 60000 }, shards = 1 });
        await Client.PostAsync($"/v1/jobs/{canceled.Id()}/cancel", null);
        foreach (var job in ok) Assert.Equal("succeeded", (await Client.WaitForFinalAsync(job.Id())).State());
        Assert.Equal("failed", (await Client.WaitForFinalAsync(dead.Id())).State());

        Dictionary<string, double> after = [];
        double Delta(string series) => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
        // Counters are updated right after the Redis calls that finish the work: wait for the last of them.
        await TestSupport.WaitUntilAsync(async () =>
        {
            after = await ScrapeAsync();
            return Delta("jobapi_jobs_finished_total{state=\"succeeded\"}") >= 3 && Delta("jobapi_shards_finished_total{state=\"succeeded\"}") >= 12;
        }, "the counters of the workload are visible");

        Assert.Equal(5, Delta("jobapi_jobs_submitted_total"));
        Assert.Equal(3, Delta("jobapi_jobs_finished_total{state=\"succeeded\"}"));
        Assert.Equal(1, Delta("jobapi_jobs_finished_total{state=\"failed\"}"));
        Assert.Equal(1, Delta("jobapi_jobs_finished_total{state=\"canceled\"}"));
        Assert.Equal(12, Delta("jobapi_shards_finished_total{state=\"succeeded\"}"));
        Assert.Equal(1, Delta("jobapi_shards_finished_total{state=\"failed\"}"));
        Assert.Equal(1, Delta("jobapi_dead_letters_total"));
        Assert.Equal(2, Delta("jobapi_shard_retries_total"));
        Assert.Equal(0, Delta("jobapi_lease_lost_total"));
        // Every computation is timed: 12 successes, 2 failed attempts before the retries, 1 dead attempt
        // (the canceled shard's sleep is cut short and not counted).
        Assert.Equal(15, Delta("jobapi_shard_duration_seconds_count"));
        Assert.True(after.ContainsKey("jobapi_queue_depth"), "no jobapi_queue_depth gauge");
        Assert.True(after.ContainsKey("jobapi_lease_renewals_total"), "no jobapi_lease_renewals_total counter");
    }

    /// <summary>The runtime's own meter (System.Runtime) is exported beside the service's: CPU, JIT and GC, the figures
    /// a fresh node's first requests and a node's CPU budget are read from. The test host is this process, so the
    /// runtime's own counters bound them.</summary>
    [Fact]
    public async Task The_runtime_meter_is_exported_and_agrees_with_the_process()
    {
        var cpuBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var samples = await ScrapeAsync();
        var cpuAfter = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var jitAfter = System.Runtime.JitInfo.GetCompiledMethodCount();

        var cpu = samples["dotnet_process_cpu_time_seconds_total{cpu_mode=\"user\"}"] + samples["dotnet_process_cpu_time_seconds_total{cpu_mode=\"system\"}"];
        Assert.InRange(cpu, cpuBefore - 0.05, cpuAfter + 0.05); // the clock ticks of /proc are 10 ms
        Assert.InRange(samples["dotnet_jit_compiled_methods_total"], 1, jitAfter);
        Assert.True(samples["dotnet_jit_compilation_time_seconds_total"] > 0, "no JIT time");
        Assert.True(samples.ContainsKey("dotnet_gc_collections_total{gc_heap_generation=\"gen0\"}"), "no GC counts");
    }

    [Fact]
    public async Task Jobs_the_scheduler_ends_by_a_timeout_or_a_failed_dependency_count_as_finished()
    {
        var before = await ScrapeAsync();
        var timed = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 60000 }, shards = 1, timeoutSeconds = 1 });
        var dependency = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 60000 }, shards = 1 });
        var dependent = await Client.SubmitAsync(new { kind = "noop", input = new { }, dependsOn = new[] { dependency.Id() } });
        await Client.PostAsync($"/v1/jobs/{dependency.Id()}/cancel", null);
        Assert.Equal("failed", (await Client.WaitForFinalAsync(timed.Id())).State());
        Assert.Equal("canceled", (await Client.WaitForFinalAsync(dependent.Id())).State());

        Dictionary<string, double> after = [];
        double Delta(string series) => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
        await TestSupport.WaitUntilAsync(async () =>
        {
            after = await ScrapeAsync();
            return Delta("jobapi_jobs_finished_total{state=\"canceled\"}") >= 2 && Delta("jobapi_jobs_finished_total{state=\"failed\"}") >= 1;
        }, "the scheduler's final states are counted");
        Assert.Equal(3, Delta("jobapi_jobs_submitted_total"));
        Assert.Equal(1, Delta("jobapi_jobs_finished_total{state=\"failed\"}"));
        Assert.Equal(2, Delta("jobapi_jobs_finished_total{state=\"canceled\"}"));
        Assert.Equal(0, Delta("jobapi_jobs_finished_total{state=\"succeeded\"}"));
    }
}
