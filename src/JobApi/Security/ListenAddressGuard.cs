using System.Net;
using JobApi.Engine;
using JobApi.Options;

namespace JobApi.Security;

/// <summary>Open mode (no API keys, no JWT) is for one developer's machine: the service then listens on
/// loopback only, unless <c>JobApi:Auth:AllowAnonymousNonLoopback</c> says otherwise. The addresses are
/// read where ASP.NET Core reads them: <c>Kestrel:Endpoints</c>, then <c>urls</c> (<c>--urls</c>,
/// <c>ASPNETCORE_URLS</c>, appsettings <c>Urls</c>), then <c>http_ports</c>/<c>https_ports</c>
/// (<c>ASPNETCORE_HTTP_PORTS</c>, which bind every interface); with none of them Kestrel uses localhost:5000.</summary>
public static class ListenAddressGuard
{
    /// <summary>Returns the start-up line to print, or throws <see cref="StartupException"/> when open mode would listen beyond loopback.</summary>
    public static string? Check(IConfiguration configuration, AuthOptions auth)
    {
        if (auth.Enabled) return null;
        var addresses = ListenAddresses(configuration);
        var exposed = addresses.Where(a => !IsLoopback(a)).ToList();
        if (exposed.Count == 0)
            return $"JobApi: no API keys configured (JobApi:Auth:ApiKeys): open mode, listening on loopback only ({string.Join(", ", addresses)}).";
        if (auth.AllowAnonymousNonLoopback)
            return $"JobApi: WARNING: no API keys configured and JobApi:Auth:AllowAnonymousNonLoopback=true: anyone who reaches {string.Join(", ", exposed)} can submit, read and cancel jobs.";
        throw new StartupException(
            $"No API keys are configured (JobApi:Auth:ApiKeys) but the service would listen on {string.Join(", ", exposed)}, beyond loopback. " +
            "Configure API keys (see docs/SECURITY.md), listen on localhost/127.0.0.1 only (--urls http://localhost:8080), " +
            "or set JobApi:Auth:AllowAnonymousNonLoopback=true to run without authentication anyway.");
    }

    public static IReadOnlyList<string> ListenAddresses(IConfiguration configuration)
    {
        var endpoints = configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Select(e => e["Url"]).Where(u => !string.IsNullOrWhiteSpace(u)).Select(u => u!).ToList();
        if (endpoints.Count > 0) return endpoints;
        var urls = configuration["urls"];
        if (!string.IsNullOrWhiteSpace(urls))
            return urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ports = new[] { ("http", configuration["http_ports"]), ("https", configuration["https_ports"]) }
            .SelectMany(p => (p.Item2 ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(port => $"{p.Item1}://*:{port}"))
            .ToList();
        return ports.Count > 0 ? ports : ["http://localhost:5000"];
    }

    public static bool IsLoopback(string url)
    {
        if (url.StartsWith("unix:", StringComparison.OrdinalIgnoreCase)) return true; // a local socket file
        var host = HostOf(url);
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip);
    }

    private static string HostOf(string url)
    {
        var rest = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        rest = rest.Split('/')[0];
        if (rest.StartsWith('[')) return rest[..(rest.IndexOf(']') + 1)];
        var colon = rest.LastIndexOf(':');
        return colon >= 0 ? rest[..colon] : rest;
    }
}
