using System.Collections.Concurrent;
using JobApi.Workers;

namespace JobApi.Tests.Workers;

public class ShardThreadsTests
{
    [Fact]
    public void Shards_start_in_order_on_dedicated_threads_never_on_the_thread_pool()
    {
        using var threads = new ShardThreads(concurrency: 1);
        var order = new ConcurrentQueue<int>();
        var onPool = 0;
        using var done = new CountdownEvent(100);
        for (var i = 0; i < 100; i++)
        {
            var n = i;
            threads.Start(() =>
            {
                if (Thread.CurrentThread.IsThreadPoolThread) Interlocked.Increment(ref onPool);
                order.Enqueue(n);
                done.Signal();
            });
        }
        Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, onPool);
        Assert.Equal(Enumerable.Range(0, 100), order); // one thread (concurrency 1): first in, first started
    }

    [Fact]
    public void There_are_as_many_threads_as_cores_but_never_more_than_the_concurrency()
    {
        foreach (var concurrency in new[] { 1, Environment.ProcessorCount, 64 })
        {
            using var threads = new ShardThreads(concurrency);
            var expected = Math.Min(Environment.ProcessorCount, concurrency);
            Assert.Equal(expected, threads.Count);
            var names = new ConcurrentDictionary<int, byte>();
            using var started = new CountdownEvent(expected);
            using var finished = new CountdownEvent(expected + 3);
            using var release = new ManualResetEventSlim();
            var running = 0;
            // Each start blocks its thread until released: exactly `expected` of them can be running at once.
            for (var i = 0; i < expected + 3; i++)
                threads.Start(() =>
                {
                    names.TryAdd(Environment.CurrentManagedThreadId, 0);
                    if (Interlocked.Increment(ref running) <= expected) started.Signal();
                    release.Wait();
                    finished.Signal();
                });
            Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
            Thread.Sleep(100);
            Assert.Equal(expected, Volatile.Read(ref running));
            Assert.Equal(expected, names.Count);
            release.Set();
            Assert.True(finished.Wait(TimeSpan.FromSeconds(10)));
            Assert.Equal(expected, names.Count);
        }
    }
}
