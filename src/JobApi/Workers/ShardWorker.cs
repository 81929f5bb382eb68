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
    private readonly ShardThreads _threads = new(options.Value.Worker.EffectiveConcurrency);
    private readonly ConcurrentDictionary<(string JobId, long Fence), LeasedBatch> _batches = new();
    private readonly ConcurrentDictionary<string, byte> _merges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string JobId, int Index), byte> _running = new();
    private readonly CancellationTokenSource _drained = new();
    private readonly ConcurrentQueue<string> _nudged = new();
    private int _busy;

    /// <summary>Leases this process holds now: (job, fence) pairs.</summary>
    public IEnumerable<(string JobId, long Fence)> HeldLeases => _batches.Keys;

    /// <summary>Shards this process is computing now (for the workers registry).</summary>
    public IEnumerable<(string JobId, int Index)> RunningShards => _running.Keys;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriber = redis.GetSubscriber();
        await subscriber.SubscribeAsync(keys.NudgeChannel, (_, message) => OnNudge(message!));
        // A job that ended other than by success (canceled, failed, timed out): stop its shards here.
        await subscriber.SubscribeAsync(keys.FollowUpChannel, (_, message) => AbandonJob(FinalEvent.Parse(message!).JobId));
        try
        {
            await queue.WarmUpAsync();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisError(logger, e); // only a warm-up: the worker goes on without it
        }
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
            if (free > 0 && (busy == 0 || free >= BatchFree) && await TryStartWorkAsync(free)) continue;
            await _wake.WaitAsync(_options.IdlePoll, stoppingToken);
        }
    }

    /// <summary>One round: rotate up to 16 jobs, lease from them in one round trip. False when none had work.</summary>
    private async Task<bool> TryStartWorkAsync(int free)
    {
        try
        {
            var nudged = TakeNudged(free);
            var jobs = nudged ?? await queue.RotateAsync(Math.Min(free, MaxJobsPerRound));
            // Empty partitions: look at the next ones at once, wait only after every partition came back empty.
            if (jobs.Length == 0) return queue.UnvisitedPartitionsLeft;
            // Share the free slots between the jobs of this round (round robin inside the round too).
            var share = new int[jobs.Length];
            for (var i = 0; i < free; i++) share[i % jobs.Length]++;
            var asked = Enumerable.Range(0, jobs.Length).Where(i => share[i] > 0).ToArray();
            var grants = await queue.LeaseAsync(asked.Select(i => jobs[i]).ToArray(), asked.Select(i => share[i]).ToArray(), identity.Id, identity.Token);
            var found = false;
            List<LeaseGrant>? leased = null;
            foreach (var grant in grants)
            {
                switch (grant.Kind)
                {
                    case LeaseKind.Shards:
                        (leased ??= new(grants.Length)).Add(grant);
                        found = true;
                        break;
                    case LeaseKind.Merge:
                        StartMerge(grant.JobId);
                        found = true;
                        break;
                    case LeaseKind.Finished:
                        queue.DropFromRotation(grant.JobId);
                        break;
                }
            }
            if (leased is not null) StartBatches(leased);
            // Nudged jobs that had nothing for this worker: look at the rotation at once rather than wait.
            return found || nudged is not null;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisError(logger, e);
            await Task.Delay(200);
            return false;
        }
    }

    /// <summary>A job was submitted or put back: note its id (a few at most) and wake the dispatch loop.</summary>
    private void OnNudge(string jobId)
    {
        queue.Nudged(jobId);
        if (_nudged.Count < MaxJobsPerRound) _nudged.Enqueue(jobId);
        _wake.Set();
    }

    /// <summary>The jobs nudged since the last round, when this worker is idle: it leases them directly and saves the
    /// rotation's round trip (the latency of a lone job). A busy worker takes work from the rotation only, so
    /// priorities and the round robin between jobs decide what it runs next; the ids are dropped either way.</summary>
    private string[]? TakeNudged(int free)
    {
        if (_nudged.IsEmpty) return null; // the common case, every round of a busy worker: no allocation
        var ids = new List<string>();
        while (_nudged.TryDequeue(out var id)) if (!ids.Contains(id)) ids.Add(id);
        if (ids.Count == 0 || Volatile.Read(ref _busy) > 0) return null;
        return [.. ids.Take(Math.Min(free, MaxJobsPerRound))];
    }

    /// <summary>Starts the batches one round leased with one work item per shard thread, not one per shard or per batch:
    /// each takes the round's next shard until none is left (a CPU-bound shard runs to its end there, an awaiting one
    /// holds its slot and frees the thread), so a round of fast shards, or of one-shard jobs, costs a few thread
    /// hand-offs instead of one each.</summary>
    private void StartBatches(List<LeaseGrant> grants)
    {
        var work = new List<(LeasedBatch Batch, IJobKind? Kind, LeasedShard Shard)>();
        foreach (var grant in grants)
        {
            var batch = new LeasedBatch(grant);
            _batches[(batch.JobId, batch.Fence)] = batch;
            kinds.TryGet(grant.JobKind, out var kind);
            progress.Changed(grant.JobId);
            foreach (var shard in grant.Shards!) work.Add((batch, kind, shard));
        }
        Interlocked.Add(ref _busy, work.Count);
        var next = -1;
        for (var t = Math.Min(_threads.Count, work.Count); t > 0; t--)
            _threads.Start(() =>
            {
                for (var i = Interlocked.Increment(ref next); i < work.Count; i = Interlocked.Increment(ref next))
                    _ = StartShardAsync(work[i].Batch, work[i].Kind, work[i].Shard);
            });
    }

    /// <summary>Free slots the dispatch loop waits for while shards run, so that one round trip leases a batch instead
    /// of one round per finished shard: a quarter of the concurrency.</summary>
    private int BatchFree => Math.Max(1, _options.EffectiveConcurrency / 4);

    private async Task StartShardAsync(LeasedBatch batch, IJobKind? kind, LeasedShard shard)
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
            // Wake the dispatch loop only when it would act: the free slots reach a batch's worth, or none is busy.
            var busy = Interlocked.Decrement(ref _busy);
            if (busy == 0 || _options.EffectiveConcurrency - busy == BatchFree) _wake.Set();
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

    public override void Dispose()
    {
        _threads.Dispose();
        base.Dispose();
    }

    /// <summary>With <c>ShardTimeout</c> set: a token that also cancels when the attempt runs too long (a failed attempt).</summary>
    private CancellationTokenSource? StartShardTimer(LeasedBatch batch)
    {
        if (_options.ShardTimeout <= TimeSpan.Zero) return null;
        var timer = CancellationTokenSource.CreateLinkedTokenSource(batch.Cancellation.Token);
        timer.CancelAfter(_options.ShardTimeout);
        return timer;
    }
}
