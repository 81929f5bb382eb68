using System.Text.Json;
using System.Text.Json.Nodes;

namespace JobApi.IntegrationTests;

/// <summary>The committed <c>openapi/v1.json</c> is the served document. Regenerate it with
/// <c>UPDATE_OPENAPI=1 dotnet test tests/JobApi.IntegrationTests --filter OpenApiDocumentTests</c>.</summary>
[Collection(RedisCollection.Name)]
public sealed class OpenApiDocumentTests(RedisServerFixture redis)
{
    [Fact]
    public async Task Served_document_equals_the_committed_openapi_v1_json()
    {
        await using var factory = new JobApiFactory(redis);
        var served = await factory.CreateClient().GetStringAsync("/swagger/v1/swagger.json");
        var path = Path.Combine(RepoRoot(), "openapi", "v1.json");
        var pretty = JsonNode.Parse(served)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1") await File.WriteAllTextAsync(path, pretty);

        Assert.True(File.Exists(path), $"{path} is missing; regenerate it (see this test's summary).");
        var committed = JsonNode.Parse(await File.ReadAllTextAsync(path));
        Assert.True(JsonNode.DeepEquals(committed, JsonNode.Parse(served)),
            "openapi/v1.json differs from the served document; regenerate it with UPDATE_OPENAPI=1 (see this test's summary).");
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "JobApi.sln"))) return dir.FullName;
        throw new InvalidOperationException("JobApi.sln not found above " + AppContext.BaseDirectory);
    }
}
