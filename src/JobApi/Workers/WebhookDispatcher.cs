using System.Net.Http.Headers;
using System.Text.Json;
using JobApi.Engine;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>
/// Delivers job callbacks from the durable queue <c>{webhooks:P}</c> (a ZSET of next attempt times per queue partition), on any number
/// of nodes: entries are claimed (claim.lua), so one node works on a delivery at a time, and a node that dies
/// mid-delivery leaves it to be claimed again after <c>JobApi:Scheduler:ClaimTimeout</c>. Delivery is at least
/// once: a receiver may see a retry of a POST it already answered. Each attempt is recorded in the job status.
/// </summary>
public sealed partial class WebhookDispatcher(
    DueJobs due, JobStore store, IConnectionMultiplexer redis, RedisKeys keys, IOptions<JobApiOptions> options, ILogger<WebhookDispatcher> logger)
    : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly JobApiOptions _options = options.Value;
    private readonly WakeSignal _wake = new();
    private readonly HttpClient _http = new(CallbackUrls.CreateHandler(options.Value.Webhooks.AllowLoopback)) { Timeout = options.Value.Webhooks.Timeout };

    /// <summary>Looks at the queue now (a job just finished).</summary>
    public void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _wake.RunAsync(async () =>
        {
            var (now, claimed, full) = await due.ClaimJobsAsync(keys.Webhooks, 32);
            await Task.WhenAll(claimed.Select(c => DeliverAsync(c.Member, now, stoppingToken)));
            return full;
        }, _options.Scheduler.PollInterval, e => Log.RedisError(logger, e), stoppingToken);
    }

    private async Task DeliverAsync(string id, long now, CancellationToken stoppingToken)
    {
        var db = redis.GetDatabase();
        var queue = keys.Webhooks(keys.PartitionOf(id));
        var status = await store.GetStatusAsync(id);
        if (status?.Webhook is not { } webhook || webhook.State is "delivered" or "failed")
        {
            await db.SortedSetRemoveAsync(queue, id);
            return;
        }
        if (!status.IsFinal)
        {
            await db.SortedSetAddAsync(queue, id, now + (long)JobStore.WebhookRecheck.TotalMilliseconds);
            return;
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(status, Json);
        int? code = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (!string.IsNullOrEmpty(_options.Webhooks.Secret))
                request.Headers.TryAddWithoutValidation(CallbackUrls.SignatureHeader, CallbackUrls.Sign(_options.Webhooks.Secret, body));
            using var response = await _http.SendAsync(request, stoppingToken);
            code = (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
        {
            Log.AttemptFailed(logger, id, webhook.Attempts + 1, e.Message);
        }
        var attempt = webhook.Attempts + 1;
        var outcome = code is >= 200 and < 300 ? "delivered" : attempt >= _options.Webhooks.MaxAttempts ? "failed" : "retrying";
        var finishedMs = status.FinishedAt is { } f ? (long)(f - DateTime.UnixEpoch).TotalMilliseconds : -1;
        var recorded = await db.RunAsync(LuaScripts.Webhook, keys.Job(id),
            [code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", outcome, finishedMs]);
        if (!recorded.IsNull && (long)recorded < 0)
            await db.SortedSetAddAsync(queue, id, now); // retried meanwhile: look at its new state
        else if (outcome == "retrying" && !recorded.IsNull)
            await db.SortedSetAddAsync(queue, id, now + BackoffMs(attempt));
        else
            await db.SortedSetRemoveAsync(queue, id);
        Log.Attempted(logger, id, attempt, code, outcome);
    }

    /// <summary>RetryBackoff doubled per failed attempt, ±20 % jitter, at most one hour.</summary>
    private long BackoffMs(int attempt)
    {
        var ms = _options.Webhooks.RetryBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 20));
        return (long)(Math.Min(ms, 3_600_000) * (0.8 + 0.4 * Random.Shared.NextDouble()));
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Warning, "Webhook dispatcher: Redis call failed; retrying")]
        public static partial void RedisError(ILogger logger, Exception exception);

        [LoggerMessage(51, LogLevel.Information, "Webhook of job {JobId} attempt {Attempt} got no answer: {Error}")]
        public static partial void AttemptFailed(ILogger logger, string jobId, int attempt, string error);

        [LoggerMessage(52, LogLevel.Information, "Webhook of job {JobId} attempt {Attempt}: HTTP {Status} → {Outcome}")]
        public static partial void Attempted(ILogger logger, string jobId, int attempt, int? status, string outcome);
    }
}
