using StackExchange.Redis;

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
