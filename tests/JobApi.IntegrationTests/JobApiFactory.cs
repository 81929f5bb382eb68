using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace JobApi.IntegrationTests;

/// <summary>The real service in-process (API and worker roles) against the shared test Redis, under a key
/// prefix of its own so that test classes never see each other's jobs.</summary>
public sealed class JobApiFactory(string redisConnectionString, IReadOnlyDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    public JobApiFactory(RedisServerFixture redis, IReadOnlyDictionary<string, string?>? settings = null)
        : this(redis.ConnectionString, settings)
    {
    }

    public string KeyPrefix { get; init; } = "test-" + Guid.NewGuid().ToString("N")[..12];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:Redis", redisConnectionString);
        builder.UseSetting("JobApi:KeyPrefix", KeyPrefix);
        builder.UseSetting("JobApi:Worker:Concurrency", "4");
        builder.UseSetting("JobApi:Worker:LeaseTtl", "00:00:03");
        builder.UseSetting("JobApi:Worker:RetryBackoff", "00:00:00.050");
        builder.UseSetting("JobApi:Worker:IdlePoll", "00:00:00.200");
        builder.UseSetting("JobApi:Worker:ShutdownGrace", "00:00:01");
        builder.UseSetting("JobApi:Scheduler:PollInterval", "00:00:00.100");
        builder.UseSetting("JobApi:Scheduler:DependencyRecheck", "00:00:00.500");
        builder.UseSetting("JobApi:Scheduler:ClaimTimeout", "00:00:02");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) builder.UseSetting(key, value);
    }
}

/// <summary>A test class whose service (one <see cref="JobApiFactory"/>) has job kinds of the tests' own, registered
/// through the public kind extension point (<c>AddJobKind</c>) by <paramref name="kinds"/>.</summary>
public abstract class KindsServiceTest(RedisServerFixture redis, Action<IServiceCollection> kinds, IReadOnlyDictionary<string, string?>? settings = null)
    : IAsyncLifetime
{
    protected RedisServerFixture Redis { get; } = redis;
    protected JobApiFactory Base { get; private set; } = null!;
    protected WebApplicationFactory<Program> Factory { get; private set; } = null!;
    protected HttpClient Client { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Base = new JobApiFactory(Redis, settings);
        Factory = Base.WithWebHostBuilder(b => b.ConfigureTestServices(kinds));
        Client = Factory.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Base.DisposeAsync();
    }
}

/// <summary>Small helpers over HttpClient for the contract's endpoints.</summary>
public static class JobApiClient
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<JsonElement> SubmitAsync(this HttpClient client, object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != 202) throw new InvalidOperationException($"Submit returned {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>POST /v1/inputs with the raw bytes; asserts 201 and returns <c>{ id, bytes, sha256 }</c>.</summary>
    public static async Task<JsonElement> UploadInputAsync(this HttpClient client, byte[] data, string mediaType = "application/octet-stream")
    {
        using var content = new ByteArrayContent(data);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
        using var response = await client.PostAsync("/v1/inputs", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 201, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path} returned {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Polls the status until the job is in a final state or the deadline passes.</summary>
    public static async Task<JsonElement> WaitForFinalAsync(this HttpClient client, string id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var status = await client.GetJsonAsync($"/v1/jobs/{id}");
            if (status.GetProperty("state").GetString() is "succeeded" or "failed" or "canceled") return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Job {id} did not finish: {status}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the job to succeed and returns its <c>result</c>.</summary>
    public static async Task<JsonElement> ResultAsync(this HttpClient client, string id, TimeSpan? timeout = null)
    {
        var status = await client.WaitForFinalAsync(id, timeout);
        Assert.Equal("succeeded", status.GetProperty("state").GetString());
        return (await client.GetJsonAsync($"/v1/jobs/{id}/result")).GetProperty("result");
    }
}
