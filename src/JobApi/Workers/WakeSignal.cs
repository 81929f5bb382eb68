namespace JobApi.Workers;

/// <summary>An auto-reset wake-up: <see cref="Set"/> is remembered until the next wait consumes it, so a
/// signal that arrives between "reset" and "wait" is never lost.</summary>
public sealed class WakeSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Set()
    {
        // Already set is common (nudges, merges and finished shards all set it): no exception for it.
        if (_signal.CurrentCount > 0) return;
        try { _signal.Release(); }
        catch (SemaphoreFullException) { /* set by another thread in between */ }
    }

    /// <summary>Forgets a pending signal; call it before looking for work.</summary>
    public void Reset() => _signal.Wait(0);

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
