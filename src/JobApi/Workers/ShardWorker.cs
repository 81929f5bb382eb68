using System.Collections.Concurrent;
using JobApi.Engine;
using JobApi.JobKinds;
using JobApi.Options;
using JobApi.Telemetry;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>
/// Runs shards: rotates the list of active jobs, leases batches of shards from several jobs in one round
/// trip, runs them on at most <c>Concurrency</c> tasks, renews every held lease each TTL/3 (one script call
/// per job) and commits results in groups through the fenced commit script. The commit that completes a
/// job makes this worker run its merge (or finishes the job at once when this worker held every shard).
/// </summary>
public sealed partial class ShardWorker(
    ShardQueue queue, JobKindRegistry kinds, IConnectionMultiplexer redis, RedisKeys keys,
    WorkerIdentity identity, JobMerger merger, IOptions<JobApiOptions> options, ILogger<ShardWorker> logger,
    ProgressPublisher progress, JobApiMetrics metrics, JobApiTracing tracing) : BackgroundService
{
    private const int MaxJobsPerRound = 16;
    private readonly WorkerOptions _options = options.Value.Worker;
    private readonly WakeSignal _wake = new();
    private readonly ConcurrentDictionary<(string JobId, long Fence), LeasedBatch> _batches = new();
    private readonly ConcurrentDictionary<string, byte> _merges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string JobId, int Index), byte> _running = new();
    private readonly CancellationTokenSource _drained = new();
    private int _busy;

    /// <summary>Leases this process holds now: (job, fence) pairs.</summary>
    public IEnumerable<(string JobId, long Fence)> HeldLeases => _batches.Keys;

    /// <summary>Shards this process is computing now (for the workers registry).</summary>
    public IEnumerable<(string JobId, int Index)> RunningShards => _running.Keys;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriber = redis.GetSubscriber();
        await subscriber.SubscribeAsync(keys.NudgeChannel, (_, _) => _wake.Set());
        await subscriber.SubscribeAsync(keys.EventsChannel, (_, message) => AbandonJob(message!));
        var renewals = RenewLoopAsync(stoppingToken);
        Log.Started(logger, identity.Id, _options.EffectiveConcurrency);
        try
        {
            await DispatchLoopAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await DrainAsync();
        await renewals;
        await subscriber.UnsubscribeAsync(keys.NudgeChannel);
    }

    private async Task DispatchLoopAsync(CancellationToken stoppingToken)
    {
        var capacity = _options.EffectiveConcurrency;
        while (!stoppingToken.IsCancellationRequested)
        {
            _wake.Reset(); // before looking, never after an empty look: a nudge in between is kept
            var busy = Volatile.Read(ref _busy);
            var free = capacity - busy;
            // While shards run, wait until a quarter of the slots are free so that one round trip leases a
            // batch, instead of one round per finished shard.
            if (free > 0 && (busy == 0 || free >= Math.Max(1, capacity / 4)) && await TryStartWorkAsync(free)) continue;
            await _wake.WaitAsync(_options.IdlePoll, stoppingToken);
        }
    }

    /// <summary>One round: rotate up to 16 jobs, lease from them in one round trip. False when none had work.</summary>
    private async Task<bool> TryStartWorkAsync(int free)
    {
        try
        {
            var jobs = await queue.RotateAsync(Math.Min(free, MaxJobsPerRound));
            // Empty partitions: look at the next ones at once, wait only after every partition came back empty.
            if (jobs.Length == 0) return queue.UnvisitedPartitionsLeft;
            // Share the free slots between the jobs of this round (round robin inside the round too).
            var share = new int[jobs.Length];
            for (var i = 0; i < free; i++) share[i % jobs.Length]++;
            var asked = Enumerable.Range(0, jobs.Length).Where(i => share[i] > 0).ToArray();
            var grants = await queue.LeaseAsync(asked.Select(i => jobs[i]).ToArray(), asked.Select(i => share[i]).ToArray(), identity.Id, identity.Token);
            var found = false;
            foreach (var grant in grants)
            {
                switch (grant.Kind)
                {
                    case LeaseKind.Shards:
                        StartBatch(grant);
                        found = true;
                        break;
                    case LeaseKind.Merge:
                        StartMerge(grant.JobId);
                        found = true;
                        break;
                    case LeaseKind.Finished:
                        await queue.DropFromRotationAsync(grant.JobId);
                        break;
                }
            }
            return found;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisError(logger, e);
            await Task.Delay(200);
            return false;
        }
    }

    private void StartBatch(LeaseGrant grant)
    {
        var batch = new LeasedBatch(grant);
        _batches[(batch.JobId, batch.Fence)] = batch;
        kinds.TryGet(grant.JobKind, out var kind);
        progress.Changed(grant.JobId);
        foreach (var shard in grant.Shards!)
        {
            Interlocked.Increment(ref _busy);
            _ = Task.Run(async () =>
            {
                _running.TryAdd((batch.JobId, shard.Index), 0);
                try
                {
                    await RunShardAsync(batch, kind, shard);
                }
                catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException)
                {
                    // The lease runs out and the shard is reaped; nothing is committed twice.
                    Log.WorkInterrupted(logger, batch.JobId, shard.Index, e.Message);
                }
                finally
                {
                    _running.TryRemove((batch.JobId, shard.Index), out _);
                    Retire(batch);
                    Interlocked.Decrement(ref _busy);
                    _wake.Set();
                }
            });
        }
    }

    private async Task RunShardAsync(LeasedBatch batch, IJobKind? kind, LeasedShard shard)
    {
        string result;
        using var timer = StartShardTimer(batch);
        using var span = await tracing.StartShardAsync(batch.JobId, shard.Index, shard.Attempt);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            if (kind is null) throw new InvalidOperationException($"kind '{batch.Grant.JobKind}' is not known to worker {identity.Id}");
            result = await kind.ProcessShardAsync(new ShardWork(batch.JobId, shard.Index, shard.Attempt, shard.Payload), timer?.Token ?? batch.Cancellation.Token);
            metrics.ShardDuration(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (batch.Cancellation.IsCancellationRequested)
        {
            batch.Settled(failed: true);
            if (batch.Reason == AbandonReason.Shutdown) await queue.ReleaseAsync(batch.JobId, batch.Fence, identity.Token, [shard.Index]);
            Log.ShardAbandoned(logger, batch.JobId, shard.Index, batch.Reason.ToString());
            return;
        }
        catch (Exception e)
        {
            batch.Settled(failed: true);
            metrics.ShardDuration(System.Diagnostics.Stopwatch.GetElapsedTime(started));
            var error = e is OperationCanceledException && timer is { IsCancellationRequested: true }
                ? $"shard timed out: it ran longer than JobApi:Worker:ShardTimeout ({_options.ShardTimeout})"
                : e.Message;
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error);
            var outcome = await queue.FailAsync(batch.JobId, batch.Fence, identity.Token, shard.Index, JobMerger.Truncate(error));
            CountFailure(batch.JobId, outcome);
            Log.ShardFailed(logger, batch.JobId, shard.Index, shard.Attempt, outcome, error);
            return;
        }
        if (!batch.Add(shard.Index, result)) return;
        try
        {
            await FlushAsync(batch, kind!);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _ = e;
            // Stop renewing this lease: it runs out and the reaper re-runs every shard not committed.
            Abandon(batch.JobId, batch.Fence, AbandonReason.LeaseLost);
            batch.Abort();
            throw;
        }
    }

    /// <summary>With <c>ShardTimeout</c> set: a token that also cancels when the attempt runs too long (a failed attempt).</summary>
    private CancellationTokenSource? StartShardTimer(LeasedBatch batch)
    {
        if (_options.ShardTimeout <= TimeSpan.Zero) return null;
        var timer = CancellationTokenSource.CreateLinkedTokenSource(batch.Cancellation.Token);
        timer.CancelAfter(_options.ShardTimeout);
        return timer;
    }

    /// <summary>Commits what the batch has gathered, again and again until nothing is left (group commit).</summary>
    private async Task FlushAsync(LeasedBatch batch, IJobKind kind)
    {
        while (true)
        {
            var (items, completesJob) = batch.TakePending();
            if (items.Count == 0) return;
            string? merged = null;
            if (completesJob)
            {
                using var span = await tracing.StartMergeAsync(batch.JobId);
                merged = MergeLocally(batch, kind);
            }
            var (outcome, refused) = await queue.CommitAsync(batch.JobId, batch.Fence, batch.Grant.StartedAt, identity.Token, identity.Id, items, merged);
            if (refused > 0 || outcome == CommitOutcome.Stale) Log.StaleCommitRefused(logger, batch.JobId, batch.Fence, refused);
            if (outcome is CommitOutcome.Committed or CommitOutcome.CommittedMerge or CommitOutcome.Finished)
            {
                metrics.ShardsSucceeded(items.Count - refused);
                progress.Changed(batch.JobId);
            }
            if (outcome == CommitOutcome.Finished)
            {
                metrics.JobSucceeded();
                Log.JobFinished(logger, batch.JobId, JobStates.Succeeded);
                await queue.DropFromRotationAsync(batch.JobId);
            }
            if (outcome == CommitOutcome.CommittedMerge) await MergeAsync(batch.JobId);
        }
    }

    private void StartMerge(string jobId)
    {
        Interlocked.Increment(ref _busy);
        _ = Task.Run(async () =>
        {
            try
            {
                await MergeAsync(jobId);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                Log.WorkInterrupted(logger, jobId, -1, e.Message);
            }
            finally
            {
                Interlocked.Decrement(ref _busy);
                _wake.Set();
            }
        });
    }

    /// <summary>Runs a merge this worker holds the merge lease for (renewed while it runs).</summary>
    private async Task MergeAsync(string jobId)
    {
        _merges[jobId] = 0;
        try
        {
            using var span = await tracing.StartMergeAsync(jobId);
            var outcome = await merger.MergeAsync(jobId, CancellationToken.None);
            if (outcome is "ok" or "failed")
            {
                if (outcome == "ok") metrics.JobSucceeded();
                else metrics.JobFailed();
                Log.JobFinished(logger, jobId, outcome == "ok" ? JobStates.Succeeded : JobStates.Failed);
                await queue.DropFromRotationAsync(jobId);
            }
        }
        finally
        {
            _merges.TryRemove(jobId, out _);
        }
    }

    /// <summary>The result of a job whose every shard this batch held, merged here so that the last commit finishes
    /// the job; null (the commit then takes the merge lease) for a streaming merge, which writes its items to Redis,
    /// and when the merge throws: the merge lease reruns it and fails the job with its error.</summary>
    private string? MergeLocally(LeasedBatch batch, IJobKind kind)
    {
        if (kind is IStreamingMerge) return null;
        try
        {
            return kind.Merge(batch.Grant.MergeContext!, batch.AllResults());
        }
        catch (Exception e)
        {
            Log.LocalMergeFailed(logger, batch.JobId, e.Message);
            return null;
        }
    }

    private void Retire(LeasedBatch batch)
    {
        if (batch.IsComplete && _batches.TryRemove(KeyValuePair.Create((batch.JobId, batch.Fence), batch)))
            batch.Cancellation.Dispose();
    }

    /// <summary>Renews every held lease each TTL/3, one script call per job; lost leases abandon their work.</summary>
    private async Task RenewLoopAsync(CancellationToken stoppingToken)
    {
        var period = _options.LeaseTtl / 3;
        // Renewals go on while a shutdown drains running shards; they end as soon as the drain is over.
        while (!_drained.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, _drained.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var jobs = _batches.Keys.Select(k => k.JobId).Concat(_merges.Keys).Distinct().ToArray();
            var renewals = jobs.Select(async jobId =>
            {
                var fences = _batches.Keys.Where(k => k.JobId == jobId).Select(k => k.Fence).ToArray();
                var lost = await queue.RenewAsync(jobId, identity.Token, fences, _merges.ContainsKey(jobId));
                metrics.LeasesRenewed(fences.Length);
                // A lease whose shards all settled was deleted by its last commit; that is not a loss.
                foreach (var fence in lost.Where(f => f >= 0 && _batches.TryGetValue((jobId, f), out var b) && !b.IsComplete))
                {
                    Log.LeaseLost(logger, jobId, fence);
                    metrics.LeaseLost();
                    Abandon(jobId, fence, AbandonReason.LeaseLost);
                }
            });
            try
            {
                await Task.WhenAll(renewals);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                Log.RedisError(logger, e);
            }
        }
    }

    private void AbandonJob(string jobId)
    {
        foreach (var key in _batches.Keys.Where(k => k.JobId == jobId)) Abandon(key.JobId, key.Fence, AbandonReason.JobFinished);
    }

    private void Abandon(string jobId, long fence, AbandonReason reason)
    {
        if (!_batches.TryGetValue((jobId, fence), out var batch)) return;
        batch.Reason = reason;
        try { batch.Cancellation.Cancel(); }
        catch (ObjectDisposedException) { /* finished meanwhile */ }
    }

    /// <summary>Lets running shards finish within the grace period, then releases the rest to other workers.</summary>
    private async Task DrainAsync()
    {
        var deadline = DateTime.UtcNow + _options.ShutdownGrace;
        while (Volatile.Read(ref _busy) > 0 && DateTime.UtcNow < deadline)
            await _wake.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        foreach (var key in _batches.Keys) Abandon(key.JobId, key.Fence, AbandonReason.Shutdown);
        while (Volatile.Read(ref _busy) > 0)
            await _wake.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        await _drained.CancelAsync();
    }

    private void CountFailure(string jobId, string outcome)
    {
        if (outcome == "retry") metrics.ShardRetried();
        if (outcome != "dead") return;
        metrics.ShardDead();
        metrics.JobFailed();
        progress.Forget(jobId);
        Log.JobFinished(logger, jobId, JobStates.Failed);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Worker {WorkerId} started with concurrency {Concurrency}")]
        public static partial void Started(ILogger logger, string workerId, int concurrency);

        [LoggerMessage(2, LogLevel.Warning, "Redis call failed in the worker; retrying")]
        public static partial void RedisError(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Warning, "Shard {JobId}/{Shard} attempt {Attempt} failed ({Outcome}): {Error}")]
        public static partial void ShardFailed(ILogger logger, string jobId, int shard, int attempt, string outcome, string error);

        [LoggerMessage(4, LogLevel.Information, "Shard {JobId}/{Shard} abandoned: {Reason}")]
        public static partial void ShardAbandoned(ILogger logger, string jobId, int shard, string reason);

        [LoggerMessage(5, LogLevel.Warning, "Commit under lease {JobId}/{Fence} refused for {Refused} shard(s): the lease was lost or taken over")]
        public static partial void StaleCommitRefused(ILogger logger, string jobId, long fence, int refused);

        [LoggerMessage(6, LogLevel.Warning, "Lease {JobId}/{Fence} lost; abandoning its shards")]
        public static partial void LeaseLost(ILogger logger, string jobId, long fence);

        [LoggerMessage(7, LogLevel.Warning, "Merge of job {JobId} in the worker that held every shard failed; the merge lease retries it: {Error}")]
        public static partial void LocalMergeFailed(ILogger logger, string jobId, string error);

        [LoggerMessage(8, LogLevel.Warning, "Work on {JobId}/{Shard} interrupted: {Reason}")]
        public static partial void WorkInterrupted(ILogger logger, string jobId, int shard, string reason);

        [LoggerMessage(9, LogLevel.Information, "Job {JobId} {State}")]
        public static partial void JobFinished(ILogger logger, string jobId, string state);
    }
}
