using JobApi.Engine;

namespace JobApi.Workers;

/// <summary>
/// The shards one lease call gave this worker. Results are committed in groups: while one commit of this
/// lease is on the wire, further results wait and go together in the next call (group commit), so a fast
/// shard costs a fraction of a round trip. When the lease holds every shard of its job, the worker merges
/// the results itself and the last commit finishes the job in the same call.
/// </summary>
public sealed class LeasedBatch(LeaseGrant grant)
{
    private readonly Lock _gate = new();
    private readonly List<(int Index, string Result)> _pending = [];
    private readonly string?[]? _all = grant.MergeContext is null ? null : new string?[grant.Total];
    private int _unsettled = grant.Shards!.Count;
    private bool _flushing;
    private bool _anyFailed;
    private TaskCompletionSource? _allIn;

    public LeaseGrant Grant { get; } = grant;
    public string JobId => Grant.JobId;
    public long Fence => Grant.Fence;
    public CancellationTokenSource Cancellation { get; } = new();
    public volatile AbandonReason Reason;

    /// <summary>True once every shard is committed, failed or released and no commit is on the wire.</summary>
    public bool IsComplete { get { lock (_gate) return _unsettled == 0 && !_flushing && _pending.Count == 0; } }

    /// <summary>Adds a result. Returns true when the caller must start flushing (no flush is running).</summary>
    public bool Add(int index, string result)
    {
        TaskCompletionSource? allIn;
        lock (_gate)
        {
            _pending.Add((index, result));
            if (_all is not null) _all[index] = result;
            if (!_flushing)
            {
                _flushing = true;
                return true;
            }
            allIn = TakeAllIn();
        }
        allIn?.TrySetResult(); // outside the lock: the flush that waited goes on here, up to its first await
        return false;
    }

    /// <summary>Completes once every shard of the lease not yet settled has its result waiting (no more will come
    /// before the next commit), at once when that holds already or when nothing waits. A flush waits on it a little, bounded, so that the
    /// lease's short shards go to Redis in one commit instead of one commit each.</summary>
    public Task AllResultsIn()
    {
        lock (_gate)
        {
            if (_pending.Count == 0 || _pending.Count >= _unsettled) return Task.CompletedTask;
            return (_allIn ??= new TaskCompletionSource()).Task;
        }
    }

    /// <summary>The waiter of <see cref="AllResultsIn"/> when its condition now holds (under the lock).</summary>
    private TaskCompletionSource? TakeAllIn()
    {
        if (_allIn is null || _pending.Count < _unsettled) return null;
        var allIn = _allIn;
        _allIn = null;
        return allIn;
    }

    /// <summary>Takes everything waiting to be committed, and whether this completes the lease with every
    /// shard of the job succeeded here (then the caller may send its own merge). Ends the flush when empty.</summary>
    public (List<(int Index, string Result)> Items, bool CompletesJob) TakePending()
    {
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                _flushing = false;
                return ([], false);
            }
            var items = new List<(int, string)>(_pending);
            _pending.Clear();
            _unsettled -= items.Count;
            return (items, _all is not null && !_anyFailed && _unsettled == 0);
        }
    }

    /// <summary>Counts a shard settled without a result (failed or released).</summary>
    public void Settled(bool failed)
    {
        TaskCompletionSource? allIn;
        lock (_gate)
        {
            _unsettled--;
            _anyFailed |= failed;
            allIn = TakeAllIn();
        }
        allIn?.TrySetResult();
    }

    /// <summary>Gives up on committing (Redis failed mid-flush): the lease runs out and the reaper re-runs what was not committed.</summary>
    public void Abort()
    {
        TaskCompletionSource? allIn;
        lock (_gate)
        {
            _pending.Clear();
            _flushing = false;
            _unsettled = 0;
            allIn = TakeAllIn();
        }
        allIn?.TrySetResult();
    }

    public IReadOnlyList<string> AllResults() => _all!.Select(r => r!).ToArray();
}

public enum AbandonReason { None, Shutdown, LeaseLost, JobFinished }
