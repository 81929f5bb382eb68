using JobApi.Engine;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>Writes this worker's record into the registry every <see cref="WorkerRegistry.Period"/> with
/// the shards it is running; removes it on a clean shutdown (a killed worker's record expires).</summary>
public sealed partial class WorkerHeartbeat(
    WorkerRegistry registry, ShardWorker worker, WorkerIdentity identity, IOptions<JobApiOptions> options, ILogger<WorkerHeartbeat> logger)
    : BackgroundService
{
    private const int MaxShardsListed = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(WorkerRegistry.Period);
        do
        {
            try
            {
                await registry.BeatAsync(Snapshot());
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                Log.BeatFailed(logger, e);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
        try
        {
            await registry.RemoveAsync(identity.Id);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.BeatFailed(logger, e);
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    internal WorkerInfo Snapshot() => new(
        identity.Id, Environment.MachineName, identity.StartedAt.UtcDateTime, DateTime.UtcNow,
        options.Value.Worker.EffectiveConcurrency,
        worker.RunningShards.Take(MaxShardsListed).Select(s => new RunningShard(s.JobId, s.Index)).ToArray());

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Warning, "Worker heartbeat failed; it is written again next period")]
        public static partial void BeatFailed(ILogger logger, Exception exception);
    }
}
