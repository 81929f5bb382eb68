using System.Text.Json;
using JobApi.Api;
using JobApi.Engine;
using JobApi.JobKinds;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>
/// Runs on every node (any role): each poll interval, and at once when a job that others depend on ends, it queues due waiting jobs
/// (delays and dependencies), fires due schedule ticks and fails jobs past their timeoutSeconds. Every step is
/// claimed in Redis first, so nodes share the work without doing anything twice (see <see cref="DueJobs"/>).
/// A schedule tick is fired with an idempotency key made of the schedule and the tick, so even a node that dies
/// between submitting the job and moving the schedule on cannot make a second job for the same tick.
/// Missed ticks (every node was down) fire once, for the earliest missed tick, then the schedule continues
/// with the next tick after now.
/// </summary>
public sealed partial class Scheduler(
    DueJobs due, ScheduleStore schedules, JobStore store, JobKindRegistry kinds, WebhookDispatcher webhooks,
    IConnectionMultiplexer redis, RedisKeys keys, IOptions<JobApiOptions> options, ILogger<Scheduler> logger) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly JobApiOptions _options = options.Value;
    private readonly WakeSignal _wake = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Most jobs end with nothing else due: their event is not on the follow-up channel and costs this node nothing.
        await redis.GetSubscriber().SubscribeUntilTakenAsync(keys.FollowUpChannel, (channel, message) =>
        {
            foreach (var e in FinalEvent.ParseAll(message!))
                if (e.Dependents || e.Webhook) _ = Task.Run(() => OnJobFinishedAsync(e));
        }, e => Log.RedisError(logger, e), stoppingToken);
        await _wake.RunAsync(async () =>
        {
            await Task.WhenAll(due.PromoteDueAsync(), FireSchedulesAsync(), due.EnforceTimeoutsAsync());
            return false;
        }, _options.Scheduler.PollInterval, e => Log.RedisError(logger, e), stoppingToken);
    }

    private async Task OnJobFinishedAsync(FinalEvent finished)
    {
        try
        {
            var work = await due.OnJobFinishedAsync(finished);
            if (work.Dependents) _wake.Set();
            if (work.Webhook) webhooks.Wake();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisError(logger, e); // the periodic re-checks pick it up
        }
    }

    /// <summary>Fires every due tick once. Returns how many jobs it started.</summary>
    public async Task<int> FireSchedulesAsync()
    {
        var (now, claimed) = await due.ClaimAsync(keys.ScheduleNext, 50, keys.ScheduleTicks);
        var fired = 0;
        foreach (var (id, tick) in claimed)
        {
            var definition = await schedules.GetDefinitionAsync(id);
            if (definition is null || definition.Paused)
            {
                await schedules.AdvanceAsync(id, null);
                continue;
            }
            if (await StartJobAsync(definition, tick)) fired++;
            await schedules.AdvanceAsync(id, definition.NextTickAfter(Math.Max(now, tick)));
        }
        return fired;
    }

    /// <summary>Starts the tick's job under the schedule's tenant and its quotas. A tick that cannot start a job
    /// (over a quota, kind or input no longer valid) is skipped: logged, and shown on the schedule as <c>lastSkipped</c>.</summary>
    private async Task<bool> StartJobAsync(ScheduleDefinition definition, long tick)
    {
        var request = definition.Job.Deserialize<SubmitRequest>(Json);
        if (request?.Kind is null || !kinds.TryGet(request.Kind, out var kind))
            return await SkipAsync(definition, tick, "its job's kind is unknown");
        var plan = await kind.PlanAsync(request.Input, request.Shards, _options.Limits.MaxShards, definition.Owner);
        if (!plan.IsValid)
            return await SkipAsync(definition, tick, "its job's input is no longer valid: " + string.Join(" ", plan.Errors!.SelectMany(e => e.Value)));
        // A newline cannot come in an HTTP header, so no client's Idempotency-Key can collide with this one.
        var outcome = await store.SubmitAsync(definition.Owner, request.Kind, request.Input, request.Shards,
            request.MaxAttempts ?? SubmitRequestValidator.DefaultMaxAttempts, plan, $"\nschedule:{definition.Id}:{tick}",
            request.ToOptions() with { ScheduleId = definition.Id, Tick = tick });
        if (outcome.Quota is { } quota)
            return await SkipAsync(definition, tick, $"over the tenant's quota {quota.Limit} ({quota.Used} used, cap {quota.Max})");
        Log.TickFired(logger, definition.Id, tick, outcome.Status?.Id ?? "-", outcome.Created);
        return outcome.Created;
    }

    private async Task<bool> SkipAsync(ScheduleDefinition definition, long tick, string reason)
    {
        Log.TickSkipped(logger, definition.Id, tick, reason);
        await schedules.RecordSkipAsync(definition.Id, tick, reason);
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Warning, "Scheduler: Redis call failed; retrying next interval")]
        public static partial void RedisError(ILogger logger, Exception exception);

        [LoggerMessage(41, LogLevel.Information, "Schedule {ScheduleId} tick {Tick}: job {JobId} (new: {Created})")]
        public static partial void TickFired(ILogger logger, string scheduleId, long tick, string jobId, bool created);

        [LoggerMessage(42, LogLevel.Warning, "Schedule {ScheduleId} tick {Tick} skipped: {Reason}")]
        public static partial void TickSkipped(ILogger logger, string scheduleId, long tick, string reason);
    }
}
