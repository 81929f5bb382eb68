using System.Security.Cryptography;
using System.Text;
using JobApi.Options;

namespace JobApi.Security;

/// <summary>The configured API keys, as SHA-256 hashes bound to tenants. A presented key is hashed and
/// compared with every configured hash in constant time, so neither the match nor its position leaks
/// through timing; the keys themselves are never stored or logged.</summary>
public sealed class ApiKeyRing
{
    private readonly (byte[] Hash, string Tenant)[] _entries;

    public ApiKeyRing(AuthOptions options) =>
        _entries = options.ApiKeys.Select(k => (Convert.FromHexString(k.KeyHash), k.Tenant)).ToArray();

    public bool IsEmpty => _entries.Length == 0;

    /// <summary>The tenant of the key, or null when no configured key matches.</summary>
    public string? FindTenant(string presentedKey)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey), hash);
        string? tenant = null;
        foreach (var entry in _entries)
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Hash)) tenant = entry.Tenant;
        return tenant;
    }

    /// <summary>The hash as configuration wants it (lowercase hex SHA-256 of the UTF-8 key).</summary>
    public static string HashOf(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
