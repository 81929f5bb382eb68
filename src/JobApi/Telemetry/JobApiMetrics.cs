using System.Diagnostics.Metrics;

namespace JobApi.Telemetry;

/// <summary>
/// The service's metrics (meter <c>JobApi</c>), exported at <c>/metrics</c> with the <c>jobapi_</c> prefix:
/// counters get a <c>_total</c> suffix, the shard duration histogram <c>_seconds</c>. Each process counts what
/// it did itself (an API node its submits, a worker its shards), as Prometheus expects.
/// </summary>
public sealed class JobApiMetrics
{
    public const string MeterName = "JobApi";
    private readonly Counter<long> _submitted, _jobsFinished, _shardsFinished, _leaseLost, _renewals, _retries, _deadLetters;
    private readonly Histogram<double> _shardDuration;

    private static readonly KeyValuePair<string, object?> Succeeded = new("state", "succeeded");
    private static readonly KeyValuePair<string, object?> Failed = new("state", "failed");
    private static readonly KeyValuePair<string, object?> Canceled = new("state", "canceled");

    public JobApiMetrics(IMeterFactory meters, QueueDepthSampler queueDepth)
    {
        var meter = meters.Create(MeterName);
        _submitted = meter.CreateCounter<long>("jobapi_jobs_submitted", description: "Jobs accepted (202) by this node");
        _jobsFinished = meter.CreateCounter<long>("jobapi_jobs_finished", description: "Jobs that reached a final state here, by state");
        _shardsFinished = meter.CreateCounter<long>("jobapi_shards_finished", description: "Shards committed (succeeded) or dead-lettered (failed) by this worker");
        _shardDuration = meter.CreateHistogram<double>("jobapi_shard_duration", unit: "s", description: "Time a shard's computation took",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] });
        _leaseLost = meter.CreateCounter<long>("jobapi_lease_lost", description: "Leases this worker lost (expired or taken over) while it still had work under them");
        _renewals = meter.CreateCounter<long>("jobapi_lease_renewals", description: "Lease renewals sent by this worker");
        _retries = meter.CreateCounter<long>("jobapi_shard_retries", description: "Failed shard attempts scheduled for a retry");
        _deadLetters = meter.CreateCounter<long>("jobapi_dead_letters", description: "Shards dead-lettered after their last attempt");
        meter.CreateObservableGauge("jobapi_queue_depth", queueDepth.Observe, description: "Shards waiting to run (ready or in retry backoff) over all unfinished jobs");
        // Every series exists from the first scrape (a rate over a series that appears late misses its first increase).
        _submitted.Add(0);
        foreach (var state in new[] { Succeeded, Failed, Canceled }) _jobsFinished.Add(0, state);
        _shardsFinished.Add(0, Succeeded);
        _shardsFinished.Add(0, Failed);
        _leaseLost.Add(0);
        _renewals.Add(0);
        _retries.Add(0);
        _deadLetters.Add(0);
    }

    public void JobSubmitted() => _submitted.Add(1);
    public void JobSucceeded() => _jobsFinished.Add(1, Succeeded);
    public void JobFailed() => _jobsFinished.Add(1, Failed);
    public void JobCanceled() => _jobsFinished.Add(1, Canceled);
    public void ShardsSucceeded(int count) { if (count > 0) _shardsFinished.Add(count, Succeeded); }
    public void ShardDead()
    {
        _shardsFinished.Add(1, Failed);
        _deadLetters.Add(1);
    }
    public void ShardRetried() => _retries.Add(1);
    public void ShardDuration(TimeSpan elapsed) => _shardDuration.Record(elapsed.TotalSeconds);
    public void LeaseLost() => _leaseLost.Add(1);
    public void LeasesRenewed(int count) { if (count > 0) _renewals.Add(count); }
}
