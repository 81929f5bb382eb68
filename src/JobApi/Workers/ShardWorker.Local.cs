using JobApi.Engine;
using JobApi.JobKinds;

namespace JobApi.Workers;

/// <summary>Shards held for this worker by a submit in this process (<see cref="ILocalShardRunner"/>): a lone job
/// submitted here while the worker is idle starts without a nudge or a lease round trip.</summary>
public sealed partial class ShardWorker : ILocalShardRunner
{
    private int _claimed; // 1 while a submit in this process may hold a shard for this worker
    private volatile bool _accepting; // running: renewals on, not stopping

    public string WorkerId => identity.Id;
    public string Token => identity.Token;

    /// <summary>Only an idle worker (nothing running, held ahead, or committing) is claimed, one submit at a time: a busy
    /// one leaves new jobs to the rotation, where any idle worker takes them.</summary>
    public bool TryClaim()
    {
        if (!_accepting || Volatile.Read(ref _busy) > 0 || !_ahead.IsEmpty || Volatile.Read(ref _commits) > 0) return false;
        if (Interlocked.CompareExchange(ref _claimed, 1, 0) != 0) return false;
        // The drain sets _stopping, then waits for the claim to end: one of the two sees the other.
        if (_stopping)
        {
            Unclaim();
            return false;
        }
        return true;
    }

    /// <summary>Starts the held shard as if this worker had leased it: on this thread when its kind is short here and
    /// the worker idle (<see cref="RunsInline"/>), else on a shard thread.</summary>
    public void Run(LeaseGrant grant)
    {
        try
        {
            StartBatches([grant]);
        }
        finally
        {
            Unclaim();
        }
    }

    public void Unclaim() => Volatile.Write(ref _claimed, 0);

    public ShardRunAhead? RunAhead(LeaseGrant grant)
    {
        if (grant is not { MergeContext: not null, Shards: [var shard] } || !IsShortHere(grant.JobKind)
            || !kinds.TryGet(grant.JobKind, out var kind) || kind is IStreamingMerge)
            return null;
        var batch = new LeasedBatch(grant);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        string result;
        try
        {
            var run = kind.ProcessShardAsync(new ShardWork(grant.JobId, shard.Index, shard.Attempt, shard.Payload), batch.Cancellation.Token);
            if (!run.IsCompleted)
            {
                // It awaits (a timer, I/O): however short its kind was so far, this one is not, and a submit must not wait
                // on it. It is stopped and left to the held path, where it runs under its lease.
                batch.Cancellation.Cancel();
                _ = run.AsTask().ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return null;
            }
            result = run.GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            Log.RunAheadFailed(logger, grant.JobId, e.Message);
            return null;
        }
        NoteShardDone(grant.JobKind, started);
        batch.Add(shard.Index, result);
        return MergeLocally(batch, kind) is { } merged ? new ShardRunAhead(merged) : null;
    }

    public void Finished(string jobId)
    {
        try
        {
            metrics.ShardsSucceeded(1);
            metrics.JobSucceeded();
            Log.JobFinished(logger, jobId, JobStates.Succeeded);
        }
        finally
        {
            Unclaim();
        }
    }

    /// <summary>Waits for a claim on the wire to end (its held shard, if any, is then in the batches the drain releases).</summary>
    private async Task EndClaimsAsync()
    {
        _accepting = false;
        Interlocked.MemoryBarrier();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Volatile.Read(ref _claimed) != 0 && DateTime.UtcNow < deadline) await Task.Delay(1);
    }
}
