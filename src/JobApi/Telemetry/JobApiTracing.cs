using System.Collections.Concurrent;
using System.Diagnostics;
using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.Telemetry;

/// <summary>
/// Traces (activity source <c>JobApi</c>): <c>job.submit</c> inside the HTTP request, then <c>shard.execute</c>
/// and <c>job.merge</c> on whichever worker runs them, joined to the submit's trace through the W3C
/// <c>traceparent</c> stored in the job hash. With nobody listening (no OTLP endpoint configured) nothing
/// is created or read: the hot path pays one <c>HasListeners</c> check.
/// </summary>
public sealed class JobApiTracing(IConnectionMultiplexer redis, RedisKeys keys)
{
    public const string SourceName = "JobApi";
    public const string TraceParentField = "traceparent";
    public static readonly ActivitySource Source = new(SourceName);
    private const int MaxCachedJobs = 10_000;
    private readonly ConcurrentDictionary<string, Task<ActivityContext>> _parents = new(StringComparer.Ordinal);

    public static bool Enabled => Source.HasListeners();

    public static Activity? StartSubmit(string kind)
    {
        var activity = Source.StartActivity("job.submit", ActivityKind.Internal);
        activity?.SetTag("jobapi.kind", kind);
        return activity;
    }

    /// <summary>A shard's span, a child of the job's submit span when the job carries one.</summary>
    public async ValueTask<Activity?> StartShardAsync(string jobId, int index, int attempt)
    {
        if (!Enabled) return null;
        var activity = Source.StartActivity("shard.execute", ActivityKind.Consumer, await ParentOfAsync(jobId));
        activity?.SetTag("jobapi.job_id", jobId);
        activity?.SetTag("jobapi.shard_index", index);
        activity?.SetTag("jobapi.attempt", attempt);
        return activity;
    }

    public async ValueTask<Activity?> StartMergeAsync(string jobId)
    {
        if (!Enabled) return null;
        var activity = Source.StartActivity("job.merge", ActivityKind.Internal, await ParentOfAsync(jobId));
        activity?.SetTag("jobapi.job_id", jobId);
        return activity;
    }

    private Task<ActivityContext> ParentOfAsync(string jobId)
    {
        if (_parents.Count > MaxCachedJobs) _parents.Clear();
        return _parents.GetOrAdd(jobId, async id =>
        {
            try
            {
                var value = (string?)await redis.GetDatabase().HashGetAsync(keys.Job(id).Job, TraceParentField);
                return value is not null && ActivityContext.TryParse(value, null, isRemote: true, out var context) ? context : default;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                return default;
            }
        });
    }
}
