using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace JobApi.Engine;

/// <summary>
/// Webhook targets and signatures. The SSRF guard refuses loopback, private, link-local and other internal
/// addresses unless <c>JobApi:Webhooks:AllowLoopback</c> is on: at submit for literal addresses and
/// <c>localhost</c>, and again at connect time for whatever a host name resolves to (so DNS cannot be used
/// to reach inside). Redirects are not followed.
/// </summary>
public static class CallbackUrls
{
    public const string SignatureHeader = "X-JobApi-Signature";
    public const int MaxLength = 2048;

    /// <summary>Why <paramref name="url"/> cannot be a callback, or null when it can.</summary>
    public static string? Problem(string url, bool allowLoopback)
    {
        if (url.Length > MaxLength) return $"callbackUrl must be at most {MaxLength} characters.";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
            return "callbackUrl must be an absolute http or https URL.";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return "callbackUrl must not carry credentials.";
        if (allowLoopback) return null;
        var host = uri.IdnHost.TrimEnd('.');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IsInternal(ip)))
            return "callbackUrl points at a loopback or private address; set JobApi:Webhooks:AllowLoopback to allow it.";
        return null;
    }

    /// <summary>Loopback, private (RFC 1918, unique local), link-local, carrier-grade NAT, unspecified or multicast.</summary>
    public static bool IsInternal(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)) return true;
        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
            return ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6Multicast || (ip.GetAddressBytes()[0] & 0xFE) == 0xFC;
        var b = ip.GetAddressBytes();
        return b[0] is 0 or 10 or 127 || b[0] >= 224 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }

    /// <summary>The header value: <c>sha256=</c> and the lowercase hex HMAC-SHA256 of the raw body.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>An HTTP handler that connects only to addresses the guard allows and never follows redirects.</summary>
    public static SocketsHttpHandler CreateHandler(bool allowLoopback) => new()
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
            var allowed = addresses.Where(a => allowLoopback || !IsInternal(a)).ToArray();
            if (allowed.Length == 0)
                throw new HttpRequestException($"callback host '{host}' resolves only to loopback or private addresses (JobApi:Webhooks:AllowLoopback is off).");
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
