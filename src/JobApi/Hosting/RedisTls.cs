using System.Security.Authentication;
using JobApi.Engine;
using JobApi.Options;
using StackExchange.Redis;

namespace JobApi.Hosting;

/// <summary>TLS to a configured Redis: <c>ssl=true</c> (and <c>sslHost=</c>) in the connection string, and
/// <c>JobApi:Redis:TlsCaFile</c> for a server certificate signed by a private certificate authority. A certificate
/// that is not trusted stops start-up with a message that says so, not as a credentials problem.</summary>
public static class RedisTls
{
    public static void Configure(ConfigurationOptions config, RedisClientOptions client)
    {
        if (string.IsNullOrWhiteSpace(client.TlsCaFile)) return;
        if (!File.Exists(client.TlsCaFile))
            throw new StartupException($"JobApi:Redis:TlsCaFile '{client.TlsCaFile}' does not exist; give the PEM file of the CA that signed Redis's certificate.");
        config.Ssl = true;
        config.TrustIssuer(client.TlsCaFile);
    }

    /// <summary>The start-up message when the connection failed in the TLS handshake; null for any other failure.</summary>
    public static string? Refusal(ConfigurationOptions config, RedisConnectionException e, RedisClientOptions client)
    {
        if (!config.Ssl || !Causes(e).Any(c => c is AuthenticationException)) return null;
        var trust = string.IsNullOrWhiteSpace(client.TlsCaFile)
            ? "the host does not trust it: set JobApi:Redis:TlsCaFile to the PEM file of the CA that signed it"
            : $"it is not signed by the CA in JobApi:Redis:TlsCaFile ('{client.TlsCaFile}'), or its name does not match sslHost";
        return $"Redis at '{string.Join(",", config.EndPoints)}' failed the TLS handshake: its certificate was refused ({trust}). " +
            "Fix the CA file or sslHost, or the server's certificate.";
    }

    private static IEnumerable<Exception> Causes(Exception e)
    {
        for (Exception? c = e; c is not null; c = c.InnerException) yield return c;
        if (e is AggregateException a) foreach (var inner in a.InnerExceptions.SelectMany(Causes)) yield return inner;
    }
}
