namespace JobApi.Workers;

/// <summary>
/// Dedicated threads, one per core (at most the worker's concurrency), that start shards: each runs the synchronous
/// part of a shard, which for a CPU-bound kind is the whole computation, and moves on at its first await. The thread
/// pool stays free for Redis replies, commits and leases: shards queued on it would make every reply wait behind
/// them (with 32 CPU-bound shards of 0.6 ms queued on 2 cores, a reply waited 5 to 20 ms).
/// An idle thread blocks at once instead of spinning first (as <c>BlockingCollection</c> does): on a small machine the
/// spinning took about a sixth of the worker's CPU, which Redis and the API nodes beside it need.
/// </summary>
public sealed class ShardThreads : IDisposable
{
    private readonly Queue<Action> _queue = new();
    private int _waiting;
    private bool _disposed;

    public ShardThreads(int concurrency)
    {
        Count = Math.Clamp(Environment.ProcessorCount, 1, Math.Max(1, concurrency));
        for (var i = 0; i < Count; i++)
            new Thread(Run) { IsBackground = true, Name = $"shard-{i}" }.Start();
    }

    /// <summary>How many threads there are: the cores, at most the concurrency.</summary>
    public int Count { get; }

    /// <summary>Queues <paramref name="start"/>; it runs on a shard thread, in order with the others.</summary>
    public void Start(Action start)
    {
        lock (_queue)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _queue.Enqueue(start);
            if (_waiting > 0) Monitor.Pulse(_queue);
        }
    }

    private void Run()
    {
        while (true)
        {
            Action start;
            lock (_queue)
            {
                while (_queue.Count == 0)
                {
                    if (_disposed) return;
                    _waiting++;
                    Monitor.Wait(_queue);
                    _waiting--;
                }
                start = _queue.Dequeue();
            }
            start();
        }
    }

    /// <summary>Ends the threads once the queued starts have run.</summary>
    public void Dispose()
    {
        lock (_queue)
        {
            _disposed = true;
            Monitor.PulseAll(_queue);
        }
    }
}
