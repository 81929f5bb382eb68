using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>An auto-reset wake-up: <see cref="Set"/> is remembered until the next wait consumes it, so a
/// signal that arrives between "reset" and "wait" is never lost. A waiter woken by <see cref="Set"/> goes on on a
/// thread-pool thread; one woken by <see cref="SetHere"/> goes on on the caller's thread, until its next await.</summary>
public sealed class WakeSignal
{
    private readonly Lock _gate = new();
    private bool _set;
    private TaskCompletionSource<bool>? _waiter; // continuations run on the thread that completes it

    public void Set() => Signal(here: false);

    /// <summary>Wakes the waiter on this thread: for a caller that is itself a thread-pool work item with nothing
    /// else to do (a pub/sub handler), this saves the hand-off of the wake-up to another thread.</summary>
    public void SetHere() => Signal(here: true);

    private void Signal(bool here)
    {
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            waiter = _waiter;
            _waiter = null;
            if (waiter is null)
            {
                _set = true;
                return;
            }
        }
        if (here) waiter.TrySetResult(true);
        else ThreadPool.UnsafeQueueUserWorkItem(static w => w.TrySetResult(true), waiter, preferLocal: false);
    }

    /// <summary>Forgets a pending signal; call it before looking for work.</summary>
    public void Reset()
    {
        lock (_gate) _set = false;
    }

    /// <summary>True once signaled (at once when a signal is pending), false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        TaskCompletionSource<bool> waiter;
        lock (_gate)
        {
            if (_set)
            {
                _set = false;
                return true;
            }
            waiter = _waiter ??= new TaskCompletionSource<bool>();
        }
        try
        {
            return await waiter.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            lock (_gate)
            {
                // A signal that took this waiter as the wait ended is this wait's: it is not lost.
                if (_waiter != waiter) return true;
                _waiter = null;
            }
            if (e is OperationCanceledException) throw;
            return false;
        }
    }

    /// <summary>The polling loop of a background service: runs <paramref name="round"/> until
    /// <paramref name="stoppingToken"/> is canceled, again at once when it returns true (more is waiting), otherwise
    /// once this signal is set or <paramref name="poll"/> has passed. A Redis error ends the round only: it goes to
    /// <paramref name="redisError"/> and the loop waits as after an empty round.</summary>
    public async Task RunAsync(Func<Task<bool>> round, TimeSpan poll, Action<Exception> redisError, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Reset(); // before looking, never after: a signal in between is kept
            try
            {
                if (await round()) continue;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                redisError(e);
            }
            try
            {
                await WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
