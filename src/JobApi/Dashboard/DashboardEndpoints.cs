using System.Collections.Frozen;

namespace JobApi.Dashboard;

/// <summary>
/// Serves the dashboard at <c>/dashboard</c>: three static files embedded in the assembly (no build step,
/// no files to deploy beside the binary). The page talks to the public API only, with the same key a CLI
/// would send (<c>X-Api-Key</c>), and follows jobs live through their events streams.
/// </summary>
public static class DashboardEndpoints
{
    private static readonly FrozenDictionary<string, (byte[] Body, string ContentType)> Files = Load();

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        // The page itself is public: it holds no data and asks for an API key, which its API calls then carry.
        app.MapGet("/dashboard", () => Serve("index.html")).ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/dashboard/{file}", (string file) => Serve(file)).ExcludeFromDescription().AllowAnonymous();
        return app;
    }

    private static IResult Serve(string file) =>
        Files.TryGetValue(file, out var f)
            ? Results.Bytes(f.Body, f.ContentType)
            : Results.Problem(type: Api.Problems.NotFound, title: "Not found", statusCode: StatusCodes.Status404NotFound,
                detail: $"The dashboard has no file '{file}'.");

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("dashboard/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = name["dashboard/".Length..];
            files[file] = (copy.ToArray(), Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            });
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
