using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace JobApi.IntegrationTests;

/// <summary>
/// One service (API and worker, a <see cref="JobApiFactory"/> with a key prefix of its own) per test class:
/// the first test starts it, xUnit disposes it after the class's last test. Tests of one class run one
/// after the other, so no lock is needed.
/// </summary>
public sealed class ServiceFixture : IAsyncLifetime
{
    private JobApiFactory? _factory;

    public JobApiFactory Get(RedisServerFixture redis, IReadOnlyDictionary<string, string?>? settings) =>
        _factory ??= new JobApiFactory(redis, settings);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
    }
}

/// <summary>
/// Base of the HTTP test classes. Every test class has a service of its own (see <see cref="ServiceFixture"/>),
/// so a class sees only its own jobs; "created nothing" is checked as "no new job, index entry or
/// idempotency record under the class's prefix since the snapshot".
/// </summary>
public abstract class ApiTest(RedisServerFixture redis, ServiceFixture service, IReadOnlyDictionary<string, string?>? settings = null)
    : IClassFixture<ServiceFixture>
{
    /// <summary>Settings of a node without a worker, for tests that drive every lease and commit themselves.</summary>
    protected static IReadOnlyDictionary<string, string?> ApiOnly { get; } = new Dictionary<string, string?> { ["JobApi:Roles"] = "Api" };

    protected RedisServerFixture Redis { get; } = redis;
    protected JobApiFactory Factory { get; } = service.Get(redis, settings);
    private HttpClient? _client;
    protected HttpClient Client => _client ??= Factory.CreateClient();

    /// <summary>The service's keys (these tests run with one queue partition).</summary>
    protected JobApi.Engine.RedisKeys Keys => new(Factory.KeyPrefix);

    /// <summary>Every Redis key under this class's prefix that matches the pattern (SCAN, never KEYS).</summary>
    protected Task<List<string>> KeysAsync(string pattern = "*") => Redis.KeysUnderAsync(Factory.KeyPrefix, pattern);

    /// <summary>The ids of the jobs whose hash exists under this class's prefix.</summary>
    protected async Task<List<string>> JobIdsInRedisAsync()
    {
        var keys = await KeysAsync("{*}:job");
        var start = Factory.KeyPrefix.Length + 2;
        return keys.Select(k => k[start..k.IndexOf('}', start)]).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>What a submit leaves behind: job hashes, idempotency records and entries of the job index.</summary>
    protected async Task<HashSet<string>> SnapshotAsync()
    {
        var snapshot = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in await KeysAsync("{*}:job")) snapshot.Add(key);
        foreach (var key in await KeysAsync("{idem:*}")) snapshot.Add(key);
        foreach (var id in await Redis.Redis.GetDatabase().SortedSetRangeByRankAsync(Keys.JobIndex(0)))
            snapshot.Add($"job index entry {id}");
        return snapshot;
    }

    /// <summary>Fails when a job, an index entry or an idempotency record appeared since the snapshot.</summary>
    protected async Task AssertNothingCreatedSinceAsync(HashSet<string> snapshot)
    {
        var created = (await SnapshotAsync()).Except(snapshot).ToList();
        Assert.True(created.Count == 0, $"a refused request created: {string.Join(", ", created)}");
    }

    protected Task<HttpResponseMessage> PostJobJsonAsync(string json, string? idempotencyKey = null) =>
        Client.PostJobBytesAsync(Encoding.UTF8.GetBytes(json), "application/json", idempotencyKey);
}

public static class TestSupport
{
    public const string ProblemJson = "application/problem+json";

    public static string Id(this JsonElement status) => status.GetProperty("id").GetString()!;

    public static string State(this JsonElement status) => status.GetProperty("state").GetString()!;

    public static async Task<HttpResponseMessage> PostJobBytesAsync(this HttpClient client, byte[] body, string mediaType, string? idempotencyKey = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = content };
        if (idempotencyKey is not null) request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        return await client.SendAsync(request);
    }

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{(int)response.StatusCode} with a body that is not JSON: {text}", e);
        }
    }

    /// <summary>Checks an RFC 9457 answer: the status and the members every problem has. The media type
    /// (<c>application/problem+json</c>) is checked once per kind of error in <see cref="ProblemMediaTypeTests"/>,
    /// so that a wrong media type fails there and does not hide what these tests check.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, int status)
    {
        var problem = await response.ReadJsonAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {problem}");
        Assert.Equal(JsonValueKind.Object, problem.ValueKind);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("type").GetString()), $"problem without a type: {problem}");
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()), $"problem without a title: {problem}");
        return problem;
    }

    /// <summary>The problem's <c>errors</c> map names the field (the validator's name, or the JSON path the
    /// model binder uses, <c>$.field</c>).</summary>
    public static void AssertNamesField(this JsonElement problem, string field)
    {
        Assert.True(problem.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object,
            $"problem without an errors map: {problem}");
        var names = errors.EnumerateObject().Select(p => p.Name).ToList();
        Assert.True(names.Any(n => n.Equals(field, StringComparison.OrdinalIgnoreCase) || n.Equals("$." + field, StringComparison.OrdinalIgnoreCase)),
            $"errors do not name '{field}': {errors}");
        foreach (var p in errors.EnumerateObject())
            Assert.True(p.Value.GetArrayLength() > 0 && p.Value.EnumerateArray().All(m => !string.IsNullOrWhiteSpace(m.GetString())),
                $"field '{p.Name}' has no message: {errors}");
    }

    /// <summary>Polls the condition until it holds or the deadline passes (then fails with <paramref name="what"/>).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out waiting until {what}.");
            await Task.Delay(20);
        }
    }

    /// <summary>Keys matching <c>prefix:pattern</c>, read with SCAN.</summary>
    public static async Task<List<string>> KeysUnderAsync(this RedisServerFixture redis, string prefix, string pattern = "*")
    {
        var server = redis.Redis.GetServer(redis.Redis.GetEndPoints()[0]);
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: $"{prefix}:{pattern}", pageSize: 1000)) keys.Add(key!);
        return keys;
    }

    /// <summary>A timestamp as the contract wants it: ISO 8601, UTC, ending with Z.</summary>
    public static DateTime AssertUtc(this JsonElement value, string name)
    {
        Assert.True(value.ValueKind == JsonValueKind.String, $"{name} is not a string: {value}");
        var text = value.GetString()!;
        Assert.True(text.EndsWith('Z'), $"{name} does not end with Z: {text}");
        return DateTime.Parse(text, null, System.Globalization.DateTimeStyles.RoundtripKind);
    }
}
