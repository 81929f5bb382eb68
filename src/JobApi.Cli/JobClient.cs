using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace JobApi.Cli;

/// <summary>An API answer that is not a success: the status code and the problem document (RFC 9457).</summary>
public sealed class ApiException(HttpStatusCode status, JsonNode? problem, string text)
    : Exception(problem?["title"] is null
        ? $"{(int)status} {status}: {text}"
        : $"{(int)status} {problem["title"]}{(problem["detail"] is { } d ? ": " + d : "")}")
{
    public HttpStatusCode Status { get; } = status;
    public JsonNode? Problem { get; } = problem;
}

/// <summary>The JobApi HTTP API as the CLI uses it.</summary>
public sealed class JobClient(HttpClient http)
{
    public Task<JsonNode> SubmitAsync(JsonObject body, string? idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return SendAsync(request);
    }

    public Task<JsonNode> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path));

    public Task<JsonNode> PostAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Post, path));

    private async Task<JsonNode> SendAsync(HttpRequestMessage request)
    {
        using (request)
        using (var response = await http.SendAsync(request))
        {
            var text = await response.Content.ReadAsStringAsync();
            JsonNode? json = null;
            try
            {
                json = text.Length > 0 ? JsonNode.Parse(text) : null;
            }
            catch (JsonException)
            {
            }
            if (!response.IsSuccessStatusCode || json is null) throw new ApiException(response.StatusCode, json, text);
            return json;
        }
    }

    /// <summary>Follows the job's events stream until its final state event, reconnecting with
    /// <c>Last-Event-ID</c> when the connection drops. Yields (event, status) pairs.</summary>
    public async IAsyncEnumerable<(string Event, JsonNode Status)> FollowAsync(string id, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? last = null;
        for (var failures = 0; ; )
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{Uri.EscapeDataString(id)}/events");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            if (last is not null) request.Headers.Add("Last-Event-ID", last);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException) when (++failures < 5)
            {
                await Task.Delay(1000, cancellationToken);
                continue;
            }
            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    var text = await response.Content.ReadAsStringAsync(cancellationToken);
                    throw new ApiException(response.StatusCode, TryParse(text), text);
                }
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
                string? kind = null, data = null;
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (line.Length == 0)
                    {
                        if (data is not null && JsonNode.Parse(data) is { } status)
                        {
                            yield return (kind ?? "message", status);
                            if (kind == "state" && IsFinal(status)) yield break;
                        }
                        (kind, data) = (null, null);
                    }
                    else if (line.StartsWith("id:", StringComparison.Ordinal)) last = line[3..].Trim();
                    else if (line.StartsWith("event:", StringComparison.Ordinal)) kind = line[6..].Trim();
                    else if (line.StartsWith("data:", StringComparison.Ordinal)) data += line[5..].TrimStart();
                }
            }
            if (++failures >= 30) throw new IOException($"The events stream of job {id} kept closing before the job ended.");
            await Task.Delay(500, cancellationToken);
        }
    }

    public static bool IsFinal(JsonNode status) => State(status) is "succeeded" or "failed" or "canceled";

    public static string State(JsonNode status) => status["state"]?.GetValue<string>() ?? "";

    private static JsonNode? TryParse(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (JsonException) { return null; }
    }
}
