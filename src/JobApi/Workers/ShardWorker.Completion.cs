using JobApi.Engine;
using JobApi.JobKinds;
using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>How finished work leaves the worker: group commits under the lease, the local or leased merge that
/// ends a job, and the metrics and logs of jobs this worker finished.</summary>
public sealed partial class ShardWorker
{
    /// <summary>Commits a lease's results after the shard that started it gave up its slot; a merge the commit hands
    /// this worker runs here too. The drain waits for it.</summary>
    private async Task CommitAsync(LeasedBatch batch, IJobKind kind, int index)
    {
        try
        {
            await FlushAsync(batch, kind);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Stop renewing this lease: it runs out and the reaper re-runs every shard not committed.
            Abandon(batch.JobId, batch.Fence, AbandonReason.LeaseLost);
            batch.Abort();
            Log.WorkInterrupted(logger, batch.JobId, index, e.Message);
        }
        catch (OperationCanceledException e)
        {
            Log.WorkInterrupted(logger, batch.JobId, index, e.Message);
        }
        finally
        {
            Retire(batch);
            Interlocked.Decrement(ref _commits);
            WakeIfRoom();
        }
    }

    /// <summary>Commits what the batch has gathered, again and again until nothing is left (group commit).</summary>
    private async Task FlushAsync(LeasedBatch batch, IJobKind kind)
    {
        while (true)
        {
            await LingerAsync(batch);
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
                metrics.ShardsSucceeded(items.Count - refused);
            // A finished job's final event tells its streams; a progress message would only follow it.
            if (outcome is CommitOutcome.Committed or CommitOutcome.CommittedMerge) progress.Changed(batch.JobId);
            if (outcome == CommitOutcome.Finished)
            {
                progress.Forget(batch.JobId);
                metrics.JobSucceeded();
                Log.JobFinished(logger, batch.JobId, JobStates.Succeeded);
                queue.DropFromRotation(batch.JobId);
            }
            if (outcome == CommitOutcome.CommittedMerge) await MergeAsync(batch.JobId);
        }
    }

    /// <summary>Before a commit, while the shards here are short (under <see cref="PrefetchBelowMs"/> on average), waits
    /// until the lease's other shards have their results too, at most <see cref="LingerShards"/> average shard times
    /// (and never over <see cref="MaxLingerMs"/>): a lease of short shards then costs one commit, not one per shard or
    /// two. A fan-out of 1,000 shards of 0.67 ms on 2 cores went from about 350 commit calls (of ~3 shards, each
    /// 60-140 µs of Redis CPU, mostly the script's own cost) to about one per lease. A lone shard, or the last of its
    /// lease, does not wait.</summary>
    private Task LingerAsync(LeasedBatch batch)
    {
        var average = Volatile.Read(ref _shardMs);
        if (!(average < PrefetchBelowMs)) return Task.CompletedTask;
        var allIn = batch.AllResultsIn();
        if (allIn.IsCompleted) return allIn;
        return Task.WhenAny(allIn, Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(LingerShards * average, 1, MaxLingerMs))));
    }

    private const double LingerShards = 8;

    private const double MaxLingerMs = 10;

    private void StartMerge(string jobId)
    {
        lock (_slots) Interlocked.Increment(ref _busy);
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
                FreeSlot();
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
                queue.DropFromRotation(jobId, mayReturn: outcome == "failed"); // a failed job may be retried
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

    private void CountFailure(string jobId, string outcome)
    {
        if (outcome == "retry") metrics.ShardRetried();
        if (outcome != "dead") return;
        metrics.ShardDead();
        metrics.JobFailed();
        progress.Forget(jobId);
        Log.JobFinished(logger, jobId, JobStates.Failed);
    }
}
