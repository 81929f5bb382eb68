using System.Collections.Concurrent;
using System.Collections.Immutable;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>
/// The process's one subscription to job events: requests waiting for a job to finish register here and
/// are woken by the event the final-state script publishes; event streams also register for progress
/// (published, rate-limited, by workers). Wait for a condition, then re-read it: an event is only a hint
/// to look again.
/// </summary>
public sealed class JobEvents(IConnectionMultiplexer redis, RedisKeys keys, RecentResults? recent = null) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<TaskCompletionSource<FinalEvent?>, bool>> _waiters = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _subscribeLock = new(1, 1);
    private volatile bool _subscribed;
    private ImmutableArray<Action<FinalEvent>> _listeners = [];

    /// <summary>Registers a waiter for a job's next event. Register before reading the state, so no event is missed.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="progress">Also wake on progress, not only on the final state.</param>
    public async Task<JobEventWaiter> WatchAsync(string jobId, bool progress = false)
    {
        await EnsureSubscribedAsync();
        // Woken on the pub/sub handler's thread (a thread-pool work item): the waiting request goes on there, without
        // another hand-off, up to its next await.
        var tcs = new TaskCompletionSource<FinalEvent?>();
        _waiters.GetOrAdd(jobId, _ => new()).TryAdd(tcs, progress);
        return new JobEventWaiter(tcs.Task, () =>
        {
            if (_waiters.TryGetValue(jobId, out var set))
            {
                set.TryRemove(tcs, out _);
                if (set.IsEmpty) _waiters.TryRemove(new KeyValuePair<string, ConcurrentDictionary<TaskCompletionSource<FinalEvent?>, bool>>(jobId, set));
            }
        });
    }

    /// <summary>Calls <paramref name="listener"/> with every job's final event this node hears (every job's, from any
    /// node; deletes and probes included), on the subscription's thread, until the returned registration is disposed:
    /// it has to return at once (hand the event on, never wait).</summary>
    public async Task<IDisposable> ListenAsync(Action<FinalEvent> listener)
    {
        await EnsureSubscribedAsync();
        ImmutableInterlocked.Update(ref _listeners, l => l.Add(listener));
        return new Registration(() => ImmutableInterlocked.Update(ref _listeners, l => l.Remove(listener)));
    }

    private async Task EnsureSubscribedAsync()
    {
        if (_subscribed) return;
        await _subscribeLock.WaitAsync();
        try
        {
            if (_subscribed) return;
            await redis.GetSubscriber().SubscribeAsync(keys.EventsChannel, (_, message) =>
            {
                foreach (var final in FinalEvent.ParseAll(message!)) Signal(final);
            });
            await redis.GetSubscriber().SubscribeAsync(keys.ProgressChannel, (_, message) => Signal(message!, null));
            _subscribed = true;
        }
        finally
        {
            _subscribeLock.Release();
        }
    }

    /// <summary>Subscribes now rather than on the first request that waits, and checks the subscription end to end: a
    /// probe event published here has to come back through it, as a job's final event does (which also has the code that
    /// carries events compiled before that request). True when it came back within <paramref name="timeout"/>. The
    /// probe's id is no job id, so no request waits on it, and other nodes find no waiter for it.</summary>
    public async Task<bool> ProbeAsync(TimeSpan timeout)
    {
        var probe = $"probe:{Guid.NewGuid():N}";
        using var waiter = await WatchAsync(probe);
        await redis.GetDatabase().PublishAsync(keys.EventsChannel, probe);
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await waiter.Signal.WaitAsync(deadline.Token); // only the probe's own event wakes its waiter
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Signal(FinalEvent final)
    {
        if (final.Deleted) recent?.Forget(final.JobId);
        else recent?.Ended(final.JobId, final.Result);
        Signal(final.JobId, final);
        foreach (var listener in _listeners) listener(final);
    }

    /// <summary>Wakes the job's waiters: with <paramref name="final"/>, every one; without (progress), those that asked for it.</summary>
    private void Signal(string jobId, FinalEvent? final)
    {
        var progress = final is null;
        // A snapshot: a woken waiter that watches again (inline, on this thread) is not woken by this same event.
        if (_waiters.TryGetValue(jobId, out var set))
            foreach (var (tcs, wantsProgress) in set.ToArray())
                if (wantsProgress || !progress) tcs.TrySetResult(final);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_subscribed) return;
        await redis.GetSubscriber().UnsubscribeAsync(keys.EventsChannel);
        await redis.GetSubscriber().UnsubscribeAsync(keys.ProgressChannel);
    }
}

/// <summary>A listener's registration (<see cref="JobEvents.ListenAsync"/>); dispose it to stop.</summary>
internal sealed class Registration(Action unregister) : IDisposable
{
    private Action? _unregister = unregister;
    public void Dispose() => Interlocked.Exchange(ref _unregister, null)?.Invoke();
}

/// <summary>One registration; dispose it when done waiting.</summary>
public sealed class JobEventWaiter(Task<FinalEvent?> signal, Action unregister) : IDisposable
{
    /// <summary>Completes at the job's next event: its final event, or null for progress.</summary>
    public Task<FinalEvent?> Signal { get; } = signal;
    public void Dispose() => unregister();
}

/// <summary>A message of the final-event channel (published by <c>finish_job</c> in common.lua): the job id, then
/// <c>|</c> and flags when the end makes more work due: <c>d</c> the job has dependents, <c>w</c> a webhook, or <c>x</c>
/// alone when the message is the job's delete (<c>delete.lua</c>: those waiting on it look again and find it gone); on the
/// events channel (not the follow-up channel) a succeeded job's short whole result follows after a second <c>|</c>
/// (the flags may be empty): <see cref="Result"/>.</summary>
public readonly record struct FinalEvent(string JobId, bool Dependents, bool Webhook, string? Result = null, bool Deleted = false)
{
    /// <summary>Separates the events of one message: a script call that ends several jobs (many.lua) publishes their
    /// events together, in order. No job id, flag or JSON result holds it (JSON escapes every control character).</summary>
    public const char Separator = '\u001e';

    /// <summary>The events of a message: one, or several from one script call.</summary>
    public static IEnumerable<FinalEvent> ParseAll(string message)
    {
        if (message.IndexOf(Separator) < 0)
        {
            yield return Parse(message);
            yield break;
        }
        foreach (var one in message.Split(Separator)) yield return Parse(one);
    }

    public static FinalEvent Parse(string message)
    {
        var bar = message.IndexOf('|');
        if (bar < 0) return new FinalEvent(message, false, false);
        var rest = message.AsSpan(bar + 1);
        var second = rest.IndexOf('|');
        var flags = second < 0 ? rest : rest[..second];
        return new FinalEvent(message[..bar], flags.Contains('d'), flags.Contains('w'), second < 0 ? null : rest[(second + 1)..].ToString(),
            flags.Contains('x'));
    }
}
