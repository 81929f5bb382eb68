using System.Collections.Concurrent;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>
/// The process's one subscription to job events: requests waiting for a job to finish register here and
/// are woken by the event the final-state script publishes. Wait for a condition, then re-read it: an
/// event is only a hint to look again.
/// </summary>
public sealed class JobEvents(IConnectionMultiplexer redis, RedisKeys keys) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<TaskCompletionSource, byte>> _waiters = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _subscribeLock = new(1, 1);
    private volatile bool _subscribed;

    /// <summary>Registers a waiter for a job's next event. Register before reading the state, so no event is missed.</summary>
    public async Task<JobEventWaiter> WatchAsync(string jobId)
    {
        await EnsureSubscribedAsync();
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.GetOrAdd(jobId, _ => new()).TryAdd(tcs, 0);
        return new JobEventWaiter(tcs.Task, () =>
        {
            if (_waiters.TryGetValue(jobId, out var set))
            {
                set.TryRemove(tcs, out _);
                if (set.IsEmpty) _waiters.TryRemove(new KeyValuePair<string, ConcurrentDictionary<TaskCompletionSource, byte>>(jobId, set));
            }
        });
    }

    private async Task EnsureSubscribedAsync()
    {
        if (_subscribed) return;
        await _subscribeLock.WaitAsync();
        try
        {
            if (_subscribed) return;
            await redis.GetSubscriber().SubscribeAsync(keys.EventsChannel, (_, message) => Signal(message!));
            _subscribed = true;
        }
        finally
        {
            _subscribeLock.Release();
        }
    }

    private void Signal(string jobId)
    {
        if (_waiters.TryGetValue(jobId, out var set))
            foreach (var tcs in set.Keys) tcs.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscribed) await redis.GetSubscriber().UnsubscribeAsync(keys.EventsChannel);
    }
}

/// <summary>One registration; dispose it when done waiting.</summary>
public sealed class JobEventWaiter(Task signal, Action unregister) : IDisposable
{
    public Task Signal { get; } = signal;
    public void Dispose() => unregister();
}
