using System.Net;
using System.Text.Json;

namespace JobApi.IntegrationTests;

/// <summary>Health endpoints and the Swagger UI and document.</summary>
[Collection(RedisCollection.Name)]
public sealed class HealthAndSwaggerTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_endpoints_answer_200_while_redis_is_up(string path)
    {
        using var response = await Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Swagger_ui_answers_at_slash_swagger()
    {
        using var client = Factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var response = await client.GetAsync("/swagger");
        var status = (int)response.StatusCode;
        Assert.True(status == 200 || (status is 301 or 302 or 307 or 308 && response.Headers.Location!.OriginalString.EndsWith("index.html", StringComparison.Ordinal)),
            $"/swagger answered {status} {response.Headers.Location}");

        using var page = await Client.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("swagger", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_openapi_document_is_valid_json_describing_the_job_endpoints()
    {
        using var response = await Client.GetAsync("/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.StartsWith("3.", root.GetProperty("openapi").GetString());
        var paths = root.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var path in new[] { "/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/result", "/v1/jobs/{id}/shards", "/v1/jobs/{id}/cancel", "/v1/kinds" })
            Assert.Contains(path, paths);
    }
}
