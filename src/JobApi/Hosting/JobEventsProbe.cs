using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.Hosting;

/// <summary>On an API node, subscribes to job events as the node starts and checks that they arrive
/// (<see cref="JobEvents.ProbeAsync"/>), in the background: start-up does not wait for Redis, and a node whose events
/// do not come back says so in its log. Requests that wait for a job then find the subscription made.</summary>
internal sealed partial class JobEventsProbe(JobEvents events, ILogger<JobEventsProbe> logger) : IHostedService
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = ProbeAsync();
        return Task.CompletedTask;
    }

    private async Task ProbeAsync()
    {
        try
        {
            if (!await events.ProbeAsync(Timeout)) Log.ProbeLost(logger, Timeout.TotalSeconds);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            Log.ProbeFailed(logger, e.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Job events: a probe event published at start did not come back within {Seconds} s; requests that wait for jobs fall back to their deadline")]
        public static partial void ProbeLost(ILogger logger, double seconds);

        [LoggerMessage(2, LogLevel.Warning, "Job events: subscribing at start failed ({Message}); the first request that waits subscribes")]
        public static partial void ProbeFailed(ILogger logger, string message);
    }
}
