using System.Text;
using System.Text.Json;
using JobApi.Engine;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace JobApi.Api;

/// <summary>
/// Writes a job's Server-Sent Events: each message is a snapshot of the job status with <c>id</c> = the
/// status's sequence (it only grows), <c>event</c> = <c>state</c> when the state differs from the previous
/// message of this connection (and for the first one), otherwise <c>progress</c>. Changes are coalesced: a
/// watcher sees the latest snapshot, never a stale one. Woken by pub/sub (final states from the scripts,
/// progress from workers), with a poll as a safety net, so the final event cannot be lost: the stream
/// always ends with it, also when the job had finished before the client connected or resumed.
/// </summary>
public sealed class JobEventStream(JobStore store, JobEvents events, IOptions<Microsoft.AspNetCore.Mvc.JsonOptions> json)
{
    private static readonly TimeSpan SafetyPoll = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    private readonly JsonSerializerOptions _json = json.Value.JsonSerializerOptions;

    public async Task WriteAsync(HttpContext context, string jobId, long? lastEventId, CancellationToken cancellationToken)
    {
        try
        {
            await StreamAsync(context, jobId, lastEventId, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private async Task StreamAsync(HttpContext context, string jobId, long? lastEventId, CancellationToken cancellationToken)
    {
        var response = await StartAsync(context, cancellationToken);
        var last = lastEventId ?? -1;
        string? lastState = null;
        var lastWrite = DateTime.UtcNow;
        while (!cancellationToken.IsCancellationRequested)
        {
            using var waiter = await events.WatchAsync(jobId, progress: true); // before reading: no event is missed
            var status = await store.GetStatusAsync(jobId);
            if (status is null) return; // expired while watched
            if (status.IsFinal || status.Sequence > last)
            {
                var kind = lastState is null || lastState != status.State ? "state" : "progress";
                await WriteEventAsync(response, status, kind, cancellationToken);
                if (status.IsFinal) return;
                (last, lastState, lastWrite) = (status.Sequence, status.State, DateTime.UtcNow);
            }
            else if (DateTime.UtcNow - lastWrite > KeepAlive)
            {
                await KeepAliveAsync(response, cancellationToken);
                lastWrite = DateTime.UtcNow;
            }
            try
            {
                await waiter.Signal.WaitAsync(SafetyPoll, cancellationToken);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>Sends the headers of a Server-Sent Events answer (not cached, not buffered by a proxy or the server).</summary>
    internal static async Task<HttpResponse> StartAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(cancellationToken);
        return response;
    }

    /// <summary>A comment line that keeps a quiet stream open through proxies.</summary>
    internal static async Task KeepAliveAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        await response.WriteAsync(": keep-alive\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private async Task WriteEventAsync(HttpResponse response, JobStatus status, string kind, CancellationToken cancellationToken)
    {
        var text = new StringBuilder(512)
            .Append("id: ").Append(status.Sequence).Append('\n')
            .Append("event: ").Append(kind).Append('\n')
            .Append("data: ").Append(JsonSerializer.Serialize(status, _json)).Append("\n\n")
            .ToString();
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
