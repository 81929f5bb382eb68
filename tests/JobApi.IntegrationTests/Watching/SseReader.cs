using System.Net.Http.Headers;
using System.Text.Json;

namespace JobApi.IntegrationTests.Watching;

/// <summary>One Server-Sent Events message as a test sees it.</summary>
public sealed record SseMessage(long Id, string Event, JsonElement Data)
{
    public string State => Data.GetProperty("state").GetString()!;
}

/// <summary>Reads a job's events stream to its end (or until <paramref name="stopAfter"/> messages).</summary>
public static class SseReader
{
    public static async Task<List<SseMessage>> ReadAsync(HttpClient client, string jobId, long? lastEventId = null, int stopAfter = int.MaxValue, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{jobId}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var messages = new List<SseMessage>();
        long? id = null;
        string? kind = null, data = null;
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    Assert.True(id is not null && kind is not null, $"a message without id or event: {data}");
                    messages.Add(new SseMessage(id!.Value, kind!, JsonDocument.Parse(data).RootElement.Clone()));
                    if (messages.Count >= stopAfter) return messages;
                }
                (id, kind, data) = (null, null, null);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal)) id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) kind = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
        }
        return messages;
    }

    /// <summary>What every complete stream must look like: ids increasing, progress never going back,
    /// the last message the final state event and nothing after it.</summary>
    public static void AssertCompleteStream(List<SseMessage> messages, string finalState, int total)
    {
        Assert.NotEmpty(messages);
        for (var i = 1; i < messages.Count; i++)
        {
            Assert.True(messages[i].Id > messages[i - 1].Id, $"ids not increasing at {i}: {messages[i - 1].Id} then {messages[i].Id}");
            var (before, after) = (messages[i - 1].Data.GetProperty("progress").GetDouble(), messages[i].Data.GetProperty("progress").GetDouble());
            Assert.True(after >= before, $"progress went back from {before} to {after}");
        }
        var last = messages[^1];
        Assert.Equal("state", last.Event);
        Assert.Equal(finalState, last.State);
        Assert.Equal(total, last.Data.GetProperty("shards").GetProperty("total").GetInt32());
        Assert.All(messages[..^1], m => Assert.False(m.State is "succeeded" or "failed" or "canceled", $"a final state before the end: {m.Data}"));
        Assert.Equal("state", messages[0].Event);
        for (var i = 1; i < messages.Count; i++)
            Assert.True(messages[i].Event == (messages[i].State == messages[i - 1].State ? "progress" : "state"),
                $"message {i} is '{messages[i].Event}' going from {messages[i - 1].State} to {messages[i].State}");
    }
}
