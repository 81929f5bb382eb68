using System.ComponentModel.DataAnnotations;

namespace JobApi.Options;

/// <summary>The <c>JobApi:Auth</c> section: API keys, optional JWT bearer, and the open-mode opt-out.</summary>
public sealed class AuthOptions
{
    /// <summary>API keys, each bound to a tenant, configured by the SHA-256 of the key (never the key itself).</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    public JwtOptions Jwt { get; set; } = new();

    /// <summary>Open mode (no keys, no JWT) binds to loopback only; this flag allows any address anyway.</summary>
    public bool AllowAnonymousNonLoopback { get; set; }

    /// <summary>True when requests must authenticate (API keys or JWT configured).</summary>
    public bool Enabled => ApiKeys.Count > 0 || Jwt.Enabled;
}

public sealed class ApiKeyOptions
{
    [Required(ErrorMessage = "JobApi:Auth:ApiKeys:N:Tenant is required.")]
    [RegularExpression(Tenants.Pattern, ErrorMessage = "JobApi:Auth:ApiKeys:N:Tenant must be 1-64 characters of letters, digits, '_', '-' or '.'.")]
    public string Tenant { get; set; } = "";

    /// <summary>Lowercase hex SHA-256 of the key: <c>printf %s "$KEY" | sha256sum</c>.</summary>
    [Required(ErrorMessage = "JobApi:Auth:ApiKeys:N:KeyHash is required.")]
    [RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = "JobApi:Auth:ApiKeys:N:KeyHash must be the 64 hex digits of the key's SHA-256 (printf %s \"$KEY\" | sha256sum).")]
    public string KeyHash { get; set; } = "";
}

public sealed class JwtOptions
{
    /// <summary>OpenID Connect authority (issuer URL); signing keys come from its discovery document.</summary>
    public string? Authority { get; set; }

    /// <summary>Expected <c>aud</c>; not checked when empty.</summary>
    public string? Audience { get; set; }

    /// <summary>Expected <c>iss</c> when a symmetric key is used; not checked when empty.</summary>
    public string? Issuer { get; set; }

    /// <summary>HMAC signing key (UTF-8, at least 32 bytes) for deployments without an authority, and for tests.</summary>
    [MinLength(32, ErrorMessage = "JobApi:Auth:Jwt:SigningKey must be at least 32 characters.")]
    public string? SigningKey { get; set; }

    /// <summary>The claim that names the tenant.</summary>
    [Required, RegularExpression(@"^\S{1,200}$", ErrorMessage = "JobApi:Auth:Jwt:TenantClaim must be a claim name.")]
    public string TenantClaim { get; set; } = "tenant";

    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrEmpty(SigningKey);
}

/// <summary>Tenant names: safe inside a Redis key and a hash tag.</summary>
public static class Tenants
{
    public const string Pattern = "^[A-Za-z0-9_.-]{1,64}$";

    /// <summary>The tenant of every request in open mode (no keys configured).</summary>
    public const string Default = "default";

    public static bool IsValid(string? tenant) =>
        tenant is { Length: > 0 and <= 64 } && tenant.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
}

/// <summary>The <c>JobApi:Cors</c> section: browsers may call the API from these origins (none by default).</summary>
public sealed class CorsOptions
{
    public List<string> AllowedOrigins { get; set; } = [];
}
