using System.Collections.Concurrent;
using JobApi.Engine;
using JobApi.JobKinds;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>
/// Runs shards: finds jobs with work in the rotation of active jobs, leases a batch of shards with one
/// script call, runs them on at most <c>Concurrency</c> tasks, renews the leases every TTL/3 and commits
/// through the fenced commit script. The commit that completes a job makes this worker run its merge.
/// </summary>
public sealed partial class ShardWorker(
    ShardQueue queue, JobKindRegistry kinds, IConnectionMultiplexer redis, RedisKeys keys,
    WorkerIdentity identity, IOptions<JobApiOptions> options, ILogger<ShardWorker> logger) : BackgroundService
{
    private const int MergeIndex = -1;
    private readonly WorkerOptions _options = options.Value.Worker;
    private readonly WakeSignal _wake = new();
    private readonly ConcurrentDictionary<(string JobId, int Index), HeldWork> _held = new();
    private int _busy;

    /// <summary>Shards and merges this process holds now (for diagnostics and tests).</summary>
    public IEnumerable<(string JobId, int Index)> Held => _held.Keys;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriber = redis.GetSubscriber();
        await subscriber.SubscribeAsync(keys.NudgeChannel, (_, _) => _wake.Set());
        await subscriber.SubscribeAsync(keys.EventsChannel, (_, message) => AbandonJob(message!, AbandonReason.JobFinished));
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
            var free = capacity - Volatile.Read(ref _busy);
            var found = free > 0 && await TryStartWorkAsync(free);
            if (found) continue;
            try
            {
                await _wake.WaitAsync(_options.IdlePoll, stoppingToken);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                Log.RedisError(logger, e);
            }
        }
    }

    /// <summary>Visits active jobs round robin until one gives work. Returns false when none had any.</summary>
    private async Task<bool> TryStartWorkAsync(int free)
    {
        try
        {
            var budget = (int)Math.Min(await queue.ActiveCountAsync(), 1000);
            for (var i = 0; i < budget; i++)
            {
                var jobId = await queue.NextActiveJobAsync();
                if (jobId is null) return false;
                var batch = await queue.LeaseAsync(jobId, identity.Id, identity.Token, free);
                switch (batch.Kind)
                {
                    case LeaseKind.Shards:
                        foreach (var lease in batch.Shards) Start(lease.JobId, lease.Index, lease.Fence, ct => RunShardAsync(lease, ct));
                        return true;
                    case LeaseKind.Merge:
                        Start(jobId, MergeIndex, 0, _ => RunMergeAsync(jobId));
                        return true;
                    case LeaseKind.Finished:
                        await queue.DropFromRotationAsync(jobId);
                        break;
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisError(logger, e);
            await Task.Delay(200);
        }
        return false;
    }

    private void Start(string jobId, int index, long fence, Func<CancellationToken, Task> work)
    {
        var held = new HeldWork { Fence = fence };
        _held[(jobId, index)] = held;
        Interlocked.Increment(ref _busy);
        _ = Task.Run(async () =>
        {
            try
            {
                await work(held.Cancellation.Token);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException)
            {
                // The lease runs out and the shard is reaped; nothing is committed twice.
                Log.WorkInterrupted(logger, jobId, index, e.Message);
            }
            finally
            {
                // Only our own entry: the same shard may have been leased again by this process meanwhile.
                _held.TryRemove(KeyValuePair.Create((jobId, index), held));
                held.Cancellation.Dispose();
                Interlocked.Decrement(ref _busy);
                _wake.Set();
            }
        });
    }

    private async Task RunShardAsync(ShardLease lease, CancellationToken cancellationToken)
    {
        if (!kinds.TryGet(lease.Kind, out var kind))
        {
            await queue.FailAsync(lease, identity.Token, $"kind '{lease.Kind}' is not known to worker {identity.Id}");
            return;
        }
        string result;
        try
        {
            result = await kind.ProcessShardAsync(new ShardWork(lease.JobId, lease.Index, lease.Attempt, lease.Payload), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var reason = _held.TryGetValue((lease.JobId, lease.Index), out var h) ? h.Reason : AbandonReason.Shutdown;
            if (reason == AbandonReason.Shutdown) await queue.ReleaseAsync(lease, identity.Token);
            Log.ShardAbandoned(logger, lease.JobId, lease.Index, reason.ToString());
            return;
        }
        catch (Exception e)
        {
            var outcome = await queue.FailAsync(lease, identity.Token, Truncate(e.Message));
            Log.ShardFailed(logger, lease.JobId, lease.Index, lease.Attempt, outcome, e.Message);
            return;
        }
        switch (await queue.CommitAsync(lease, identity.Token, result))
        {
            case CommitOutcome.CommittedMerge:
                var merge = new HeldWork();
                _held[(lease.JobId, MergeIndex)] = merge;
                try
                {
                    await RunMergeAsync(lease.JobId);
                }
                finally
                {
                    _held.TryRemove(KeyValuePair.Create((lease.JobId, MergeIndex), merge));
                    merge.Cancellation.Dispose();
                }
                break;
            case CommitOutcome.Stale:
                Log.StaleCommitRefused(logger, lease.JobId, lease.Index, lease.Fence);
                break;
        }
    }

    private async Task RunMergeAsync(string jobId)
    {
        var input = await queue.ReadForMergeAsync(jobId);
        if (input is not { } m || !kinds.TryGet(m.Kind, out var kind)) return;
        var merged = kind.Merge(m.Context, m.Results);
        var outcome = await queue.FinishAsync(jobId, identity.Token, merged);
        if (outcome == "ok") await queue.DropFromRotationAsync(jobId);
        Log.Merged(logger, jobId, outcome);
    }

    /// <summary>Renews every held lease each TTL/3, one script call per job; lost leases abandon their work.</summary>
    private async Task RenewLoopAsync(CancellationToken stoppingToken)
    {
        var period = _options.LeaseTtl / 3;
        while (!stoppingToken.IsCancellationRequested || !_held.IsEmpty)
        {
            try
            {
                await Task.Delay(period, CancellationToken.None);
                foreach (var job in _held.GroupBy(h => h.Key.JobId))
                {
                    var held = job.Select(h => (h.Key.Index, h.Value.Fence)).ToArray();
                    var lost = await queue.RenewAsync(job.Key, identity.Token, held, identity.Token);
                    foreach (var index in lost)
                    {
                        Log.LeaseLost(logger, job.Key, index);
                        Abandon(job.Key, index, AbandonReason.LeaseLost);
                    }
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                Log.RedisError(logger, e);
            }
        }
    }

    private void AbandonJob(string jobId, AbandonReason reason)
    {
        foreach (var key in _held.Keys.Where(k => k.JobId == jobId)) Abandon(key.JobId, key.Index, reason);
    }

    private void Abandon(string jobId, int index, AbandonReason reason)
    {
        if (!_held.TryGetValue((jobId, index), out var held)) return;
        held.Reason = reason;
        try { held.Cancellation.Cancel(); }
        catch (ObjectDisposedException) { /* finished meanwhile */ }
    }

    /// <summary>Lets running shards finish within the grace period, then releases the rest to other workers.</summary>
    private async Task DrainAsync()
    {
        var deadline = DateTime.UtcNow + _options.ShutdownGrace;
        while (Volatile.Read(ref _busy) > 0 && DateTime.UtcNow < deadline)
            await _wake.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        foreach (var key in _held.Keys) Abandon(key.JobId, key.Index, AbandonReason.Shutdown);
        while (Volatile.Read(ref _busy) > 0)
            await _wake.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);
    }

    private static string Truncate(string message) => message.Length <= 1000 ? message : message[..1000];

    private enum AbandonReason { Shutdown, LeaseLost, JobFinished }

    private sealed class HeldWork
    {
        public CancellationTokenSource Cancellation { get; } = new();
        public volatile AbandonReason Reason;
        public long Fence { get; init; }
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

        [LoggerMessage(5, LogLevel.Warning, "Commit of shard {JobId}/{Shard} with fence {Fence} refused: the lease was taken over")]
        public static partial void StaleCommitRefused(ILogger logger, string jobId, int shard, long fence);

        [LoggerMessage(6, LogLevel.Warning, "Lease of {JobId}/{Shard} lost; abandoning the work")]
        public static partial void LeaseLost(ILogger logger, string jobId, int shard);

        [LoggerMessage(7, LogLevel.Debug, "Merge of job {JobId}: {Outcome}")]
        public static partial void Merged(ILogger logger, string jobId, string outcome);

        [LoggerMessage(8, LogLevel.Warning, "Work on {JobId}/{Shard} interrupted: {Reason}")]
        public static partial void WorkInterrupted(ILogger logger, string jobId, int shard, string reason);
    }
}
