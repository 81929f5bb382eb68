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
    private const int MaxJobsPerRound = 64;
    private readonly WorkerOptions _options = options.Value.Worker;
    private readonly WakeSignal _wake = new();
    private readonly ShardThreads _threads = new(options.Value.Worker.EffectiveConcurrency);
    private readonly ConcurrentDictionary<(string JobId, long Fence), LeasedBatch> _batches = new();
    private readonly ConcurrentDictionary<string, byte> _merges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string JobId, int Index), long> _running = new(); // value: start (Stopwatch ticks)
    private readonly ConcurrentQueue<ShardStart> _ahead = new();
    private double _shardMs = double.NaN; // moving average of the compute time of a shard here; NaN until one ran
    private readonly ConcurrentDictionary<string, double> _kindMs = new(StringComparer.Ordinal); // the same, per kind
    private volatile bool _stopping;
    private readonly CancellationTokenSource _drained = new();
    private readonly ConcurrentQueue<string> _nudged = new();
    private int _busy; // slots taken: running shards and merges; changed under _slots
    private readonly Lock _slots = new();
    private int _commits;

    /// <summary>Leases this process holds now: (job, fence) pairs.</summary>
    public IEnumerable<(string JobId, long Fence)> HeldLeases => _batches.Keys;

    /// <summary>Shards this process is computing now (for the workers registry).</summary>
    public IEnumerable<(string JobId, int Index)> RunningShards => _running.Keys;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriber = redis.GetSubscriber();
        await subscriber.SubscribeUntilTakenAsync(keys.NudgeChannel, (_, message) => OnNudge(message!), e => Log.RedisError(logger, e), stoppingToken);
        // A job that ended other than by success (canceled, failed, timed out): stop its shards here.
        await subscriber.SubscribeUntilTakenAsync(keys.FollowUpChannel, (_, message) =>
        {
            foreach (var ended in FinalEvent.ParseAll(message!)) AbandonJob(ended.JobId);
        }, e => Log.RedisError(logger, e), stoppingToken);
        try
        {
            await queue.WarmUpAsync();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisError(logger, e); // only a warm-up: the worker goes on without it
        }
        // Stopping: shards held ahead of the slots are no longer started (the drain gives them back).
        using var stopping = stoppingToken.Register(() => _stopping = true);
        var renewals = RenewLoopAsync(stoppingToken);
        _accepting = !_stopping; // submits in this process may now hold shards for this worker
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
        while (!stoppingToken.IsCancellationRequested)
        {
            _wake.Reset(); // before looking, never after an empty look: a nudge in between is kept
            Pump(); // every free slot runs what is held ahead before more is leased
            var busy = Volatile.Read(ref _busy);
            var ahead = _ahead.Count;
            var (room, batch) = Room(busy, ahead);
            // While shards run, wait until a quarter of what the worker may hold is free so that one round trip leases
            // a batch, instead of one round per finished shard.
            if (room > 0 && (busy + ahead == 0 || room >= batch) && await TryStartWorkAsync(room)) continue;
            await _wake.WaitAsync(_options.IdlePoll, stoppingToken);
        }
    }

    /// <summary>Shards this worker may lease now (its slots, plus while its shards are short those it may hold ahead,
    /// <see cref="Prefetch"/>, minus those it holds: running, waiting ahead, or done with their commit on the wire), and
    /// the batch a round waits for while shards run: a quarter of all it may hold. Counting the commits keeps leases
    /// from running ahead of them: with short shards a round leases faster than one commit call at a time settles,
    /// and shards leased but not committed would pile up (their jobs come round again in the rotation, unfinished).</summary>
    private (int Room, int Batch) Room(int busy, int ahead)
    {
        var concurrency = _options.EffectiveConcurrency;
        var prefetch = Prefetch();
        return (concurrency - busy + prefetch - ahead - Volatile.Read(ref _commits), Math.Max(1, (concurrency + prefetch) / 4));
    }

    /// <summary>How many shards to lease ahead of the free slots: while the shards here take under
    /// <see cref="PrefetchBelowMs"/> on average and none running now has taken much longer, enough to keep each shard
    /// thread busy for about <see cref="AheadMs"/> (at least the concurrency; at most four times it or eight per shard
    /// thread, whichever is more: with one or two slots, four times the concurrency kept each round to two or three
    /// shards), so that a slot set free starts its next shard at once instead of waiting for a lease (with as many slots
    /// as cores, the round trips left the cores idle half the time on 0.6 ms shards: S2 at concurrency 2 took twice the
    /// single-thread time).
    /// Never with long shards: those held ahead would wait while another worker could run them, and the round trip is
    /// small beside them.</summary>
    private int Prefetch()
    {
        var average = Volatile.Read(ref _shardMs);
        if (!(average < PrefetchBelowMs)) return 0;
        var limit = System.Diagnostics.Stopwatch.Frequency / 1000.0 * Math.Max(4 * average, 2);
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var (_, started) in _running)
            if (now - started > limit) return 0;
        var concurrency = _options.EffectiveConcurrency;
        return (int)Math.Clamp(Math.Ceiling(_threads.Count * AheadMs / Math.Max(average, 0.001)), concurrency, Math.Max(4 * concurrency, 8 * _threads.Count));
    }

    private const double AheadMs = 5;

    private const double PrefetchBelowMs = 10;

    /// <summary>A shard of the kind that started at <paramref name="started"/> (Stopwatch ticks) has its result: its time
    /// goes to the metrics and to the averages that decide what runs inline.</summary>
    private void NoteShardDone(string kind, long started)
    {
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        metrics.ShardDuration(elapsed);
        var ms = elapsed.TotalMilliseconds;
        var average = Volatile.Read(ref _shardMs);
        // Half old, half new: a first shard slowed by compiling its code is forgotten within a few shards.
        Volatile.Write(ref _shardMs, double.IsNaN(average) ? ms : (average + ms) / 2);
        _kindMs.AddOrUpdate(kind, ms, (_, old) => (old + ms) / 2);
    }

    /// <summary>Shards of a kind whose last shards here took under this (a moving average, half old, half new: one slow
    /// shard keeps the kind off for several) may run on the thread that leased them.</summary>
    private const double InlineBelowMs = 0.2;

    /// <summary>Whether the one shard a round leased runs on the thread the lease's reply came on, instead of being handed
    /// to a shard thread: when the worker is otherwise idle (a lone job) and the shard's kind is known to be short here.
    /// The hand-off (waking a sleeping thread) took a quarter of the time from the lease's reply to the commit of a lone
    /// noop shard on 2 cores; a long shard would hold the dispatch loop, so a kind not yet timed, or a slow one, never runs
    /// here.</summary>
    private bool RunsInline(List<LeaseGrant> grants) =>
        grants is [{ Shards.Count: 1 } grant] && Volatile.Read(ref _busy) == 0 && _ahead.IsEmpty && IsShortHere(grant.JobKind);

    /// <summary>Whether the kind's last shards here took under <see cref="InlineBelowMs"/> (false for a kind not timed yet).</summary>
    private bool IsShortHere(string kind) => _kindMs.TryGetValue(kind, out var ms) && ms < InlineBelowMs;

    /// <summary>One round: rotate up to 64 jobs, lease from them in one round trip. False when none had work.</summary>
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
            var emptied = 0;
            List<LeaseGrant>? leased = null;
            for (var g = 0; g < grants.Length; g++)
            {
                var grant = grants[g];
                switch (grant.Kind)
                {
                    case LeaseKind.Shards:
                        (leased ??= new(grants.Length)).Add(grant);
                        found = true;
                        if (grant.Shards!.Count < share[asked[g]]) emptied++;
                        break;
                    case LeaseKind.Merge:
                        StartMerge(grant.JobId);
                        found = true;
                        break;
                    case LeaseKind.Finished:
                        // Only a job that succeeded or was canceled has ended for good: a failed one may be retried, a
                        // waiting one queued, and a gone one may be a submit still on its way (see DropFromRotation).
                        queue.DropFromRotation(grant.JobId, mayReturn: grant.FinalState is not (JobStates.Succeeded or JobStates.Canceled));
                        break;
                }
            }
            if (leased is not null) StartBatches(leased);
            // Nudged jobs that had nothing for this worker: look at the rotation at once rather than wait. Nudged jobs
            // that gave this worker every shard they had: the worker was idle, so the rotation holds little else, and a
            // round now would hand the same jobs out again to lease nothing (and drop them twice); the next round waits
            // for a slot, a commit or a nudge (or the idle poll).
            if (nudged is not null) return emptied < grants.Length;
            return found;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisError(logger, e);
            await Task.Delay(200);
            return false;
        }
    }

    /// <summary>A job was submitted or put back: note its id when it was just created (a few at most) and wake the
    /// dispatch loop. An older id is left to the rotation: it is a job put back (retried, requeued), or a nudge read
    /// late (a backlog of them after a pause), whose job a rotation has most likely handed out already.</summary>
    private void OnNudge(string jobId)
    {
        queue.Nudged(jobId);
        if (_nudged.Count < MaxJobsPerRound && JobId.IsWellFormed(jobId)
            && DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - JobId.TimestampMs(jobId) < FreshNudgeMs)
            _nudged.Enqueue(jobId);
        _wake.SetHere(); // pub/sub handlers run as thread-pool work items: the dispatch loop's round starts here
    }

    /// <summary>How young a nudged job must be for an idle worker to lease it directly (clocks of the API node that
    /// made the id and of this worker included: with more skew than this, every nudge goes through the rotation).</summary>
    private const long FreshNudgeMs = 100;

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

    /// <summary>Queues the shards one round leased and starts as many as there are free slots (<see cref="Pump"/>); the
    /// others wait ahead of the slots.</summary>
    private void StartBatches(List<LeaseGrant> grants)
    {
        var inline = RunsInline(grants);
        foreach (var grant in grants)
        {
            var batch = new LeasedBatch(grant);
            _batches[(batch.JobId, batch.Fence)] = batch;
            kinds.TryGet(grant.JobKind, out var kind);
            progress.Started(grant.JobId);
            foreach (var shard in grant.Shards!) _ahead.Enqueue(new ShardStart(batch, kind, shard));
        }
        Pump(inline);
    }

    /// <summary>Starts shards held ahead while slots are free, with one work item per shard thread, not one per shard:
    /// each takes the next started shard until none is left (a CPU-bound shard runs to its end there, an awaiting one
    /// holds its slot and frees the thread), so a round of fast shards, or of one-shard jobs, costs a few thread
    /// hand-offs instead of one each (with <paramref name="inline"/>, a single shard runs on this thread instead: see
    /// <see cref="RunsInline"/>). Under a lock with every change of the slots made here: a slot freed while shards are being
    /// queued is always seen by one side or the other, so no shard is left waiting beside a free slot.</summary>
    private void Pump(bool inline = false)
    {
        List<ShardStart>? work = null;
        lock (_slots)
        {
            while (Volatile.Read(ref _busy) < _options.EffectiveConcurrency && TryTakeAhead(out var next))
            {
                Interlocked.Increment(ref _busy);
                (work ??= []).Add(next);
            }
        }
        if (work is null) return;
        if (inline && work.Count == 1)
        {
            _ = StartShardAsync(work[0]);
            return;
        }
        var taken = -1;
        for (var t = Math.Min(_threads.Count, work.Count); t > 0; t--)
            _threads.Start(() =>
            {
                for (var i = Interlocked.Increment(ref taken); i < work.Count; i = Interlocked.Increment(ref taken))
                    _ = StartShardAsync(work[i]);
            });
    }

    /// <summary>Gives a slot back (a shard or a merge ended) and starts what it makes room for.</summary>
    private void FreeSlot()
    {
        lock (_slots) Interlocked.Decrement(ref _busy);
        Pump();
    }

    /// <summary>A leased shard and what runs it.</summary>
    private readonly record struct ShardStart(LeasedBatch Batch, IJobKind? Kind, LeasedShard Shard);

    /// <summary>The next shard held ahead whose lease still stands; those of an abandoned lease (job ended, lease lost)
    /// are settled without running. None once the worker stops: the drain releases them.</summary>
    private bool TryTakeAhead(out ShardStart start)
    {
        while (!_stopping && _ahead.TryDequeue(out start))
        {
            if (!start.Batch.Cancellation.IsCancellationRequested) return true;
            start.Batch.Settled(failed: true);
            Log.ShardAbandoned(logger, start.Batch.JobId, start.Shard.Index, start.Batch.Reason.ToString());
            Retire(start.Batch);
        }
        start = default;
        return false;
    }

    private async Task StartShardAsync(ShardStart start)
    {
        var (batch, kind, shard) = start;
        _running.TryAdd((batch.JobId, shard.Index), System.Diagnostics.Stopwatch.GetTimestamp());
        var commit = false;
        try
        {
            commit = await RunShardAsync(batch, kind, shard);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException)
        {
            // The lease runs out and the shard is reaped; nothing is committed twice.
            Log.WorkInterrupted(logger, batch.JobId, shard.Index, e.Message);
        }
        finally
        {
            _running.TryRemove((batch.JobId, shard.Index), out _);
            // The slot is free as soon as the shard has its result: its commit goes on without holding it, so the next
            // shard computes while this result is on the wire (counted before the slot is freed, for the drain).
            if (commit) Interlocked.Increment(ref _commits);
            else Retire(batch);
            // A shard held ahead takes the slot at once (on a shard thread); the dispatch loop only when it would act.
            FreeSlot();
            WakeIfRoom(commit);
        }
        if (commit) await CommitAsync(batch, kind!, shard.Index);
    }

    /// <summary>Wakes the dispatch loop when it would act: a batch's worth of room, or nothing left to run (then, when
    /// a commit is still to come from the caller, only once it is done: the job it ends leaves the rotation first).</summary>
    private void WakeIfRoom(bool committing = false)
    {
        var busy = Volatile.Read(ref _busy);
        var ahead = _ahead.Count;
        if (busy + ahead == 0) { if (!committing) _wake.Set(); }
        else if (Room(busy, ahead) is var (room, batch) && room >= batch) _wake.Set();
    }

    /// <summary>Computes one shard and records its outcome; true when its result was added and this caller must commit
    /// (no commit of the lease was running).</summary>
    private async Task<bool> RunShardAsync(LeasedBatch batch, IJobKind? kind, LeasedShard shard)
    {
        string result;
        using var timer = StartShardTimer(batch);
        using var span = await tracing.StartShardAsync(batch.JobId, shard.Index, shard.Attempt);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            if (kind is null) throw new InvalidOperationException($"kind '{batch.Grant.JobKind}' is not known to worker {identity.Id}");
            result = await kind.ProcessShardAsync(new ShardWork(batch.JobId, shard.Index, shard.Attempt, shard.Payload), timer?.Token ?? batch.Cancellation.Token);
            NoteShardDone(batch.Grant.JobKind, started);
        }
        catch (OperationCanceledException) when (batch.Cancellation.IsCancellationRequested)
        {
            batch.Settled(failed: true);
            if (batch.Reason == AbandonReason.Shutdown) await queue.ReleaseAsync(batch.JobId, batch.Fence, identity.Token, [shard.Index]);
            Log.ShardAbandoned(logger, batch.JobId, shard.Index, batch.Reason.ToString());
            return false;
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
            return false;
        }
        return batch.Add(shard.Index, result);
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
