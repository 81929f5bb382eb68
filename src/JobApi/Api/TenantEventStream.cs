using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using JobApi.Engine;
using JobApi.Options;
using Microsoft.Extensions.Options;

namespace JobApi.Api;

/// <summary>
/// A tenant's events stream (<c>GET /v1/events</c>): one Server-Sent Events message per job of the tenant that ends while
/// the stream is open, whichever node it was submitted to or ran on: <c>event: end</c>, <c>data</c> the job's id, its
/// final state and, for a short result that came with the end (<see cref="FinalEvent.Result"/>), the result. One open
/// stream tells a client of every end, as a queue's event subscription does, instead of a request per job.
/// It is live, not a log: what ended before the stream opened, or while it was away, is not sent (the jobs list or each
/// job's result has it). Should the client fall behind by more than <see cref="Buffer"/> messages, the newest are not
/// kept and a <c>lost</c> message with their <c>count</c> says so; memory per stream stays bounded.
/// </summary>
public sealed class TenantEventStream(JobStore store, JobEvents events, IOptions<JobApiOptions> options, IHostApplicationLifetime lifetime)
{
    /// <summary>Ends held for one stream while its client reads the earlier ones.</summary>
    public const int Buffer = 4_096;
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    private int _open;

    /// <summary>Opens a stream for <paramref name="tenant"/> unless the node has its limit of them open (false: nothing
    /// was written); true once the client went away.</summary>
    public async Task<bool> TryWriteAsync(HttpContext context, string tenant, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _open) > options.Value.Limits.MaxEventStreams)
        {
            Interlocked.Decrement(ref _open);
            return false;
        }
        // A stream never ends by itself: it ends when the client goes away or when the node stops (so that a stopping
        // node does not wait its shutdown timeout for open streams; the client reconnects to another node).
        using var open = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            await StreamAsync(context, tenant, open.Token);
        }
        catch (OperationCanceledException) when (open.IsCancellationRequested)
        {
            // The client went away, or the node stops.
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
        return true;
    }

    private async Task StreamAsync(HttpContext context, string tenant, CancellationToken cancellationToken)
    {
        var ends = Channel.CreateBounded<FinalEvent>(new BoundedChannelOptions(Buffer)
        {
            SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite,
        });
        long lost = 0;
        // Listening starts before the answer's headers go out: an end after the client saw them is sent.
        using var listening = await events.ListenAsync(ended =>
        {
            if (ended.Deleted || !JobId.IsWellFormed(ended.JobId)) return;
            if (!ends.Writer.TryWrite(ended)) Interlocked.Increment(ref lost);
        });
        var response = await JobEventStream.StartAsync(context, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);

        var text = new ArrayBufferWriter<byte>(1024);
        while (!cancellationToken.IsCancellationRequested)
        {
            using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                quiet.CancelAfter(KeepAlive);
                try
                {
                    await ends.Reader.WaitToReadAsync(quiet.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await JobEventStream.KeepAliveAsync(response, cancellationToken);
                    continue;
                }
            }
            text.ResetWrittenCount();
            while (ends.Reader.TryRead(out var ended))
                if (await store.EndOfAsync(ended) is { } end && string.Equals(end.Tenant, tenant, StringComparison.Ordinal))
                    Append(text, "end"u8, w =>
                    {
                        w.WriteString("id", ended.JobId);
                        w.WriteString("state", end.State);
                        if (ended.Result is { } result) WriteResult(w, result);
                    });
            if (Interlocked.Exchange(ref lost, 0) is var count and > 0) Append(text, "lost"u8, w => w.WriteNumber("count", count));
            if (text.WrittenCount == 0) continue;
            await response.Body.WriteAsync(text.WrittenMemory, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
    }

    /// <summary>One message, its data one line of JSON.</summary>
    private static void Append(ArrayBufferWriter<byte> text, ReadOnlySpan<byte> kind, Action<Utf8JsonWriter> data)
    {
        text.Write("event: "u8);
        text.Write(kind);
        text.Write("\ndata: "u8);
        using (var writer = new Utf8JsonWriter(text))
        {
            writer.WriteStartObject();
            data(writer);
            writer.WriteEndObject();
        }
        text.Write("\n\n"u8);
    }

    /// <summary>The result as stored (one line), or re-written on one line should it hold a line break.</summary>
    private static void WriteResult(Utf8JsonWriter writer, string result)
    {
        writer.WritePropertyName("result");
        if (result.AsSpan().IndexOfAny('\n', '\r') < 0) writer.WriteRawValue(result, skipInputValidation: true);
        else
        {
            using var parsed = JsonDocument.Parse(result);
            parsed.RootElement.WriteTo(writer);
        }
    }
}
