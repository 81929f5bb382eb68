using System.Collections.Concurrent;
using System.Text.Json;

namespace JobApi.Bench;

/// <summary>A client's one open tenant events stream (<c>GET /v1/events</c>): every <c>end</c> message it reads completes
/// the wait for that job, also one that came before the job's submit call returned (a job can end within its submit).</summary>
public sealed class EndsStream : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _ends = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpResponseMessage _response;
    private readonly Task _reading;

    private EndsStream(HttpResponseMessage response)
    {
        _response = response;
        _reading = Task.Run(ReadAsync);
    }

    public static async Task<EndsStream> OpenAsync(HttpClient http)
    {
        var response = await http.GetAsync("/v1/events", HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET /v1/events: {(int)response.StatusCode}");
        return new EndsStream(response);
    }

    /// <summary>The data of the job's <c>end</c> message, once read.</summary>
    public Task<JsonElement> EndOfAsync(string jobId) => Entry(jobId).Task;

    private TaskCompletionSource<JsonElement> Entry(string jobId) =>
        _ends.GetOrAdd(jobId, _ => new TaskCompletionSource<JsonElement>());

    private async Task ReadAsync()
    {
        using var reader = new StreamReader(await _response.Content.ReadAsStreamAsync(_stop.Token));
        var kind = "";
        while (await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) kind = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && kind == "end")
            {
                using var doc = JsonDocument.Parse(line.AsMemory(6));
                var data = doc.RootElement.Clone();
                Entry(data.GetProperty("id").GetString()!).TrySetResult(data);
            }
            else if (kind == "lost") throw new InvalidOperationException("the events stream lost ends");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        // The read ends with the cancel; how it ends no longer matters once the runs are timed.
        await _reading.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        _response.Dispose();
        _stop.Dispose();
    }
}
