using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>Keeping and giving up leases: renewal every TTL/3, abandoning work whose lease was lost or whose job
/// ended, and the drain on shutdown that releases what did not finish in the grace period.</summary>
public sealed partial class ShardWorker
{
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
        // Enumerated in place: Keys would copy every held lease under all the dictionary's locks.
        foreach (var (key, _) in _batches)
            if (key.JobId == jobId) Abandon(key.JobId, key.Fence, AbandonReason.JobFinished);
    }

    private void Abandon(string jobId, long fence, AbandonReason reason)
    {
        if (!_batches.TryGetValue((jobId, fence), out var batch)) return;
        batch.Reason = reason;
        try { batch.Cancellation.Cancel(); }
        catch (ObjectDisposedException) { /* finished meanwhile */ }
    }

    /// <summary>Gives the shards held ahead back to the queue (no attempt counted), one call per lease.</summary>
    private async Task ReleaseAheadAsync()
    {
        var held = new List<ShardStart>();
        while (_ahead.TryDequeue(out var start)) held.Add(start);
        foreach (var lease in held.GroupBy(h => h.Batch))
        {
            var batch = lease.Key;
            try
            {
                if (!batch.Cancellation.IsCancellationRequested)
                    await queue.ReleaseAsync(batch.JobId, batch.Fence, identity.Token, [.. lease.Select(h => h.Shard.Index)]);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                Log.RedisError(logger, e); // not released: the lease runs out and the reaper queues them again
            }
            foreach (var _ in lease) batch.Settled(failed: true);
            Retire(batch);
        }
    }

    /// <summary>Lets running shards finish within the grace period, then releases the rest to other workers, and waits for
    /// the commits on the wire.</summary>
    private async Task DrainAsync()
    {
        _stopping = true;
        await EndClaimsAsync();
        await ReleaseAheadAsync();
        var deadline = DateTime.UtcNow + _options.ShutdownGrace;
        while (Volatile.Read(ref _busy) > 0 && DateTime.UtcNow < deadline)
            await _wake.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        foreach (var key in _batches.Keys) Abandon(key.JobId, key.Fence, AbandonReason.Shutdown);
        // Then the commits (and merges they started) of shards that already gave up their slot.
        while (Volatile.Read(ref _busy) > 0 || Volatile.Read(ref _commits) > 0)
            await _wake.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        await _drained.CancelAsync();
    }
}
