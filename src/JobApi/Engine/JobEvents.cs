using System.Collections.Concurrent;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>
/// The process's one subscription to job events: requests waiting for a job to finish register here and
/// are woken by the event the final-state script publishes; event streams also register for progress
/// (published, rate-limited, by workers). Wait for a condition, then re-read it: an event is only a hint
/// to look again.
/// </summary>
public sealed class JobEvents(IConnectionMultiplexer redis, RedisKeys keys) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<TaskCompletionSource, bool>> _waiters = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _subscribeLock = new(1, 1);
    private volatile bool _subscribed;

    /// <summary>Registers a waiter for a job's next event. Register before reading the state, so no event is missed.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="progress">Also wake on progress, not only on the final state.</param>
    public async Task<JobEventWaiter> WatchAsync(string jobId, bool progress = false)
    {
        await EnsureSubscribedAsync();
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.GetOrAdd(jobId, _ => new()).TryAdd(tcs, progress);
        return new JobEventWaiter(tcs.Task, () =>
        {
            if (_waiters.TryGetValue(jobId, out var set))
            {
                set.TryRemove(tcs, out _);
                if (set.IsEmpty) _waiters.TryRemove(new KeyValuePair<string, ConcurrentDictionary<TaskCompletionSource, bool>>(jobId, set));
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
            await redis.GetSubscriber().SubscribeAsync(keys.EventsChannel, (_, message) => Signal(FinalEvent.Parse(message!).JobId, progress: false));
            await redis.GetSubscriber().SubscribeAsync(keys.ProgressChannel, (_, message) => Signal(message!, progress: true));
            _subscribed = true;
        }
        finally
        {
            _subscribeLock.Release();
        }
    }

    private void Signal(string jobId, bool progress)
    {
        if (_waiters.TryGetValue(jobId, out var set))
            foreach (var (tcs, wantsProgress) in set)
                if (wantsProgress || !progress) tcs.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_subscribed) return;
        await redis.GetSubscriber().UnsubscribeAsync(keys.EventsChannel);
        await redis.GetSubscriber().UnsubscribeAsync(keys.ProgressChannel);
    }
}

/// <summary>One registration; dispose it when done waiting.</summary>
public sealed class JobEventWaiter(Task signal, Action unregister) : IDisposable
{
    public Task Signal { get; } = signal;
    public void Dispose() => unregister();
}

/// <summary>A message of the final-event channel (published by <c>finish_job</c> in common.lua): the job id, then
/// <c>|</c> and flags when the end makes more work due: <c>d</c> the job has dependents, <c>w</c> a webhook.</summary>
public readonly record struct FinalEvent(string JobId, bool Dependents, bool Webhook)
{
    public static FinalEvent Parse(string message)
    {
        var bar = message.IndexOf('|');
        if (bar < 0) return new FinalEvent(message, false, false);
        var flags = message.AsSpan(bar + 1);
        return new FinalEvent(message[..bar], flags.Contains('d'), flags.Contains('w'));
    }
}
