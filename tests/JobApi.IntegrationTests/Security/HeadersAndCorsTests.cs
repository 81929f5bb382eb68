using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace JobApi.IntegrationTests.Security;

/// <summary>Security headers on every response; no CORS unless origins are configured; GET never changes state.</summary>
[Collection(RedisCollection.Name)]
public sealed class HeadersAndCorsTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Theory]
    [InlineData("GET", "/v1/kinds")]
    [InlineData("GET", "/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV")]
    [InlineData("POST", "/v1/jobs")]
    [InlineData("GET", "/health/ready")]
    [InlineData("GET", "/swagger/index.html")]
    [InlineData("GET", "/no/such/page")]
    public async Task Every_response_carries_the_security_headers(string method, string path)
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("default-src 'self'", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        Assert.DoesNotContain("script-src 'self' 'unsafe-inline'", csp);
        if (path.StartsWith("/v1", StringComparison.Ordinal)) Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Without_configured_origins_a_cross_origin_preflight_gets_no_CORS_permission()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/v1/jobs");
        request.Headers.Add("Origin", "https://evil.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        using var response = await Client.SendAsync(request);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        using var get = new HttpRequestMessage(HttpMethod.Get, "/v1/kinds");
        get.Headers.Add("Origin", "https://evil.example");
        Assert.False((await Client.SendAsync(get)).Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task No_GET_endpoint_changes_anything_in_Redis()
    {
        var job = await Client.SubmitAsync(new { kind = "wordcount", input = new { text = "a b a" }, shards = 2 });
        await Client.WaitForFinalAsync(job.Id());
        // The background sweep releases a final job's share of the tenant's quota; run it now, so that it has
        // nothing left to change while the GETs run.
        var hosted = Factory.Services.GetServices<IHostedService>().ToList();
        await hosted.OfType<JobApi.Workers.LeaseReaper>().Single().SweepAsync();
        // The worker's heartbeat rewrites its registry record every 2 s on its own clock; stop it (it removes the
        // record) so that every key compared below can change only through the GETs.
        await hosted.OfType<JobApi.Workers.WorkerHeartbeat>().Single().StopAsync(CancellationToken.None);
        var before = await DumpAsync();
        var gets = Factory.Endpoints(t => t.StartsWith("v1/", StringComparison.Ordinal)).Where(e => e.Method == "GET").ToList();
        Assert.True(gets.Count >= 4);
        // Each answer is read to its headers and then dropped: GET /v1/events stays open until its client leaves.
        foreach (var (_, template) in gets)
            foreach (var suffix in new[] { "", "?waitSeconds=1&limit=5" })
                using (await Client.GetAsync(Tenancy.PathFor(template, job.Id()) + suffix, HttpCompletionOption.ResponseHeadersRead)) { }
        Assert.Equal(before, await DumpAsync());
    }

    /// <summary>Every key under the class's prefix with its serialized value (DUMP, which carries no TTL).</summary>
    private async Task<Dictionary<string, string>> DumpAsync()
    {
        var db = Redis.Redis.GetDatabase();
        var dump = new Dictionary<string, string>();
        foreach (var key in await KeysAsync())
            dump[key] = Convert.ToBase64String((byte[]?)await db.KeyDumpAsync(key) ?? []);
        return dump;
    }
}

/// <summary>With <c>JobApi:Cors:AllowedOrigins</c>, those origins (and only those) may call the API from a
/// browser, without credentials: keys travel in headers.</summary>
[Collection(RedisCollection.Name)]
public sealed class ConfiguredCorsTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, new Dictionary<string, string?> { ["JobApi:Cors:AllowedOrigins:0"] = "https://dash.example" })
{
    [Theory]
    [InlineData("https://dash.example", true)]
    [InlineData("https://evil.example", false)]
    public async Task A_preflight_is_allowed_only_for_configured_origins(string origin, bool allowed)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/v1/jobs");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "x-api-key, content-type");
        using var response = await Client.SendAsync(request);
        Assert.Equal(allowed, response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) && values.Single() == origin);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }
}
