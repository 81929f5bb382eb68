using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace JobApi.IntegrationTests;

/// <summary>A webhook receiver on 127.0.0.1 (Kestrel on a free port): records each POST's raw body and headers
/// and answers the statuses it is told to (then 200).</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _statuses = new();

    public ConcurrentQueue<(byte[] Body, string? Signature, string? ContentType)> Received { get; } = new();
    public string Url { get; }

    private WebhookReceiver(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public static async Task<WebhookReceiver> StartAsync(params int[] firstStatuses)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.MapPost("/hook", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            receiver!.Received.Enqueue((buffer.ToArray(), context.Request.Headers["X-JobApi-Signature"].FirstOrDefault(), context.Request.ContentType));
            return Results.StatusCode(receiver._statuses.TryDequeue(out var s) ? s : 200);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new WebhookReceiver(app, address + "/hook");
        foreach (var s in firstStatuses) receiver._statuses.Enqueue(s);
        return receiver;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public static class SchedulingSupport
{
    /// <summary>Jobs of this service (list endpoint, newest first) whose status carries <paramref name="scheduleId"/>.</summary>
    public static async Task<List<JsonElement>> JobsOfScheduleAsync(this HttpClient client, string scheduleId)
    {
        var page = await client.GetJsonAsync("/v1/jobs?limit=1000");
        return page.GetProperty("items").EnumerateArray()
            .Where(j => j.TryGetProperty("scheduleId", out var s) && s.GetString() == scheduleId).ToList();
    }

    public static async Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        await client.PostAsync(path, new StringContent(JsonSerializer.Serialize(body, JobApiClient.Json), System.Text.Encoding.UTF8, "application/json"));

    public static HttpStatusCode Code(this HttpResponseMessage response) => response.StatusCode;
}
