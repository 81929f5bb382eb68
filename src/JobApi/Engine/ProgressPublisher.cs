using System.Collections.Concurrent;
using System.Diagnostics;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>
/// Tells event streams that a job moved (a lease, a commit) by publishing its id on the progress channel,
/// at most once per <see cref="Interval"/> per job and process, with one trailing message so the latest
/// progress is never held back. Fire-and-forget: the hot path pays one dictionary look-up.
/// </summary>
public sealed class ProgressPublisher : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private const int MaxTrackedJobs = 10_000;
    private readonly ConcurrentDictionary<string, Entry> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string JobId, Entry Entry, long At)> _starts = new();
    private readonly IConnectionMultiplexer redis;
    private readonly RedisKeys keys;
    private readonly TimeSpan _startDelay;
    private readonly Timer _startTimer;
    private int _startTimerArmed;

    public ProgressPublisher(IConnectionMultiplexer redis, RedisKeys keys, Microsoft.Extensions.Options.IOptions<JobApi.Options.JobApiOptions> options)
    {
        this.redis = redis;
        this.keys = keys;
        _startDelay = options.Value.Worker.ProgressStartDelay;
        using (ExecutionContext.SuppressFlow()) _startTimer = new Timer(_ => TellStarts(), null, Timeout.Infinite, Timeout.Infinite);
    }

    private sealed class Entry
    {
        public long LastTicks;
        public int TrailingScheduled;
    }

    public void Changed(string jobId)
    {
        if (_jobs.Count > MaxTrackedJobs) _jobs.Clear(); // old jobs fall out; at worst one extra message each
        var entry = _jobs.GetOrAdd(jobId, static _ => new Entry());
        var now = Stopwatch.GetTimestamp();
        var last = Volatile.Read(ref entry.LastTicks);
        var elapsed = Stopwatch.GetElapsedTime(last, now);
        if (last == 0 || elapsed >= Interval)
        {
            if (Interlocked.CompareExchange(ref entry.LastTicks, now, last) == last) Publish(jobId);
            return;
        }
        if (Interlocked.Exchange(ref entry.TrailingScheduled, 1) == 1) return;
        _ = Task.Delay(Interval - elapsed).ContinueWith(_ => Tell(jobId, entry), TaskScheduler.Default);
    }

    /// <summary>A job this process has not told about yet started running here: told after
    /// <c>JobApi:Worker:ProgressStartDelay</c> unless it ended here by then (<see cref="Forget"/>). Its final event then
    /// tells the streams and the message would only follow it, so a short job costs no progress message (nor a wake-up
    /// of every API node); a job seen before is told as by <see cref="Changed"/>. Starts wait in one queue in the order
    /// they came (all wait as long), served by one timer that is armed only while the queue holds any: a worker
    /// starting 15,000 jobs a second runs one timer callback per round, not one per job.</summary>
    public void Started(string jobId)
    {
        if (_jobs.Count > MaxTrackedJobs) _jobs.Clear();
        var entry = new Entry { TrailingScheduled = 1 };
        if (_jobs.GetOrAdd(jobId, entry) != entry)
        {
            Changed(jobId);
            return;
        }
        _starts.Enqueue((jobId, entry, Stopwatch.GetTimestamp()));
        if (Interlocked.Exchange(ref _startTimerArmed, 1) == 0) Arm(_startDelay);
    }

    /// <summary>Tells the starts that have waited out the delay and are still running here, then arms the timer for
    /// the next one, if any.</summary>
    private void TellStarts()
    {
        while (true)
        {
            while (_starts.TryPeek(out var head))
            {
                var waited = Stopwatch.GetElapsedTime(head.At);
                if (waited < _startDelay)
                {
                    Arm(_startDelay - waited);
                    return; // still armed
                }
                _starts.TryDequeue(out _);
                // A start that ended here meanwhile (forgotten, or its entry replaced) is not told.
                if (_jobs.TryGetValue(head.JobId, out var current) && current == head.Entry) Tell(head.JobId, head.Entry);
            }
            Volatile.Write(ref _startTimerArmed, 0);
            // A start queued after the last look found the timer armed and left it: take it on unless another call does.
            if (_starts.IsEmpty || Interlocked.Exchange(ref _startTimerArmed, 1) == 1) return;
        }
    }

    /// <summary>A message that was waiting goes out now, and the next one waits a whole <see cref="Interval"/> from it.</summary>
    private void Tell(string jobId, Entry entry)
    {
        Volatile.Write(ref entry.LastTicks, Stopwatch.GetTimestamp());
        Volatile.Write(ref entry.TrailingScheduled, 0);
        Publish(jobId);
    }

    /// <summary>Sets the timer; once the publisher is disposed (the process stops), starts are no longer told.</summary>
    private void Arm(TimeSpan due)
    {
        try
        {
            _startTimer.Change(due, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose() => _startTimer.Dispose();

    /// <summary>Forgets a finished job (its final event is published by the script that finished it).</summary>
    public void Forget(string jobId) => _jobs.TryRemove(jobId, out _);

    private void Publish(string jobId)
    {
        try
        {
            redis.GetSubscriber().Publish(keys.ProgressChannel, jobId, CommandFlags.FireAndForget);
        }
        catch (Exception e) when (e is RedisException or ObjectDisposedException)
        {
            // A hint only: event streams re-read the status on their own safety-net poll. Disposed: the process stops.
        }
    }
}
