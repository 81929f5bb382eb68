using JobApi.Workers;

namespace JobApi.Tests.Workers;

public class WakeSignalTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_signal_before_the_wait_is_kept_until_one_wait_consumes_it()
    {
        var signal = new WakeSignal();
        signal.Set();
        signal.Set(); // already set: still one signal
        Assert.True(await signal.WaitAsync(Long, CancellationToken.None));
        Assert.False(await signal.WaitAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None));
    }

    [Fact]
    public async Task Reset_forgets_a_pending_signal()
    {
        var signal = new WakeSignal();
        signal.SetHere();
        signal.Reset();
        Assert.False(await signal.WaitAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None));
    }

    [Fact]
    public async Task SetHere_runs_the_waiter_on_the_signaling_thread_and_Set_does_not()
    {
        var signal = new WakeSignal();
        var (signaler, waiter) = await WakeFromOwnThreadAsync(signal, s => s.SetHere());
        Assert.Equal(signaler, waiter);
        (signaler, waiter) = await WakeFromOwnThreadAsync(signal, s => s.Set());
        Assert.NotEqual(signaler, waiter);
    }

    /// <summary>Parks a wait (on the pool, as in the service: no synchronization context), signals it from a thread of
    /// its own (alive for a while after, so its id cannot be reused meanwhile) and returns both threads' ids. The
    /// wait is parked once WaitAsync returns: it registers before its first await, so the signal cannot be taken as one
    /// merely remembered.</summary>
    private static async Task<(int Signaler, int Waiter)> WakeFromOwnThreadAsync(WakeSignal signal, Action<WakeSignal> set)
    {
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var woken = Task.Run(async () =>
        {
            var wait = signal.WaitAsync(Long, CancellationToken.None);
            parked.SetResult();
            await wait;
            return Environment.CurrentManagedThreadId;
        });
        await parked.Task.WaitAsync(Long);
        // Not joined: what follows the wait may itself be running on the signaling thread.
        var signaler = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            signaler.SetResult(Environment.CurrentManagedThreadId);
            set(signal);
            Thread.Sleep(300);
        }).Start();
        var waiter = await woken.WaitAsync(Long);
        return (await signaler.Task, waiter);
    }

    [Fact]
    public async Task A_signal_after_a_wait_timed_out_is_kept_for_the_next_wait()
    {
        var signal = new WakeSignal();
        Assert.False(await signal.WaitAsync(TimeSpan.FromMilliseconds(30), CancellationToken.None));
        signal.SetHere();
        Assert.True(await signal.WaitAsync(TimeSpan.FromMilliseconds(30), CancellationToken.None));
    }

    [Fact]
    public async Task A_canceled_wait_throws_and_leaves_no_waiter_behind()
    {
        var signal = new WakeSignal();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(30));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => signal.WaitAsync(Long, cancel.Token));
        signal.Set();
        Assert.True(await signal.WaitAsync(TimeSpan.FromMilliseconds(30), CancellationToken.None));
    }

    [Fact]
    public async Task Many_signals_and_waits_from_many_threads_never_lose_a_wake_up()
    {
        var signal = new WakeSignal();
        var rounds = 0;
        var done = false;
        // Threads of their own, signaling until the waits are over: setters on the thread pool would take the threads
        // the waits need.
        var setters = Enumerable.Range(0, 2).Select(i => new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                if (i % 2 == 0) signal.Set();
                else signal.SetHere();
                Thread.Sleep(1);
            }
        })).ToArray();
        foreach (var setter in setters) setter.Start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(2))
            {
                signal.Reset();
                // The setters keep signaling: a wait that times out here means a signal was lost.
                Assert.True(await signal.WaitAsync(Long, CancellationToken.None), $"a wake-up was lost after {rounds} rounds");
                rounds++;
            }
        }
        finally
        {
            Volatile.Write(ref done, true);
            // Joined from the pool: this code may be running on a setter's thread (woken by its SetHere).
            await Task.Run(() => { foreach (var setter in setters) setter.Join(); });
        }
        Assert.True(rounds > 10, $"only {rounds} rounds");
    }
}
