using System.Security.Claims;
using System.Text;
using JobApi.Options;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.IdentityModel.Tokens;

namespace JobApi.Security;

/// <summary>Authentication (API keys, optional JWT bearer), the rule that every endpoint needs a tenant once
/// keys or JWT are configured, and the CORS policy (none unless origins are configured).</summary>
public static class AuthSetup
{
    /// <summary>The default scheme: sends <c>Authorization: Bearer</c> tokens that look like JWTs to the JWT
    /// handler, everything else to the API-key handler, whose challenge is the API's 401.</summary>
    public const string SelectorScheme = "JobApi";

    public static IServiceCollection AddJobApiAuth(this IServiceCollection services, JobApiOptions options)
    {
        var auth = options.Auth;
        services.AddSingleton(new ApiKeyRing(auth));
        var builder = services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "API key or JWT", o =>
            {
                o.ForwardDefaultSelector = context =>
                    auth.Jwt.Enabled && ApiKeyAuthenticationHandler.BearerToken(context.Request) is { } token && LooksLikeJwt(token)
                        && !context.Request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName)
                        ? JwtBearerDefaults.AuthenticationScheme
                        : ApiKeyAuthenticationHandler.SchemeName;
                o.ForwardChallenge = ApiKeyAuthenticationHandler.SchemeName;
                o.ForwardForbid = ApiKeyAuthenticationHandler.SchemeName;
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        if (auth.Jwt.Enabled) builder.AddJwtBearer(o => ConfigureJwt(o, auth.Jwt));

        services.AddAuthorization(o =>
        {
            // Once keys or JWT exist, every endpoint needs a tenant unless it says [AllowAnonymous] (health checks).
            if (auth.Enabled) o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireClaim(TenantClaims.Tenant).Build();
        });

        var origins = options.Cors.AllowedOrigins.Where(o => !string.IsNullOrWhiteSpace(o)).ToArray();
        services.AddCors(o => o.AddDefaultPolicy(p =>
        {
            // Keys travel in headers, never cookies: no credentials, so a page on another origin cannot ride a session.
            if (origins.Length == 0) return;
            p.WithOrigins(origins)
                .WithMethods("GET", "POST", "DELETE")
                .WithHeaders("Authorization", ApiKeyAuthenticationHandler.HeaderName, "Content-Type", "Idempotency-Key", "Last-Event-ID")
                .WithExposedHeaders("Location", "Retry-After", "Idempotent-Replayed");
        }));
        return services;
    }

    private static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2;

    private static void ConfigureJwt(JwtBearerOptions o, JwtOptions jwt)
    {
        o.MapInboundClaims = false;
        o.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
        if (!string.IsNullOrWhiteSpace(jwt.Authority)) o.Authority = jwt.Authority;
        o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateAudience = !string.IsNullOrWhiteSpace(jwt.Audience),
            ValidAudience = jwt.Audience,
            ValidateIssuer = !string.IsNullOrWhiteSpace(jwt.Issuer) || !string.IsNullOrWhiteSpace(jwt.Authority),
            ValidIssuer = string.IsNullOrWhiteSpace(jwt.Issuer) ? null : jwt.Issuer,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        };
        if (!string.IsNullOrEmpty(jwt.SigningKey))
            o.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.SigningKey));
        o.Events = new JwtBearerEvents
        {
            // The tenant comes from the configured claim and must be a valid tenant name; without one the token is refused.
            OnTokenValidated = context =>
            {
                var tenant = context.Principal?.FindFirst(jwt.TenantClaim)?.Value;
                if (!Tenants.IsValid(tenant))
                {
                    context.Fail($"The token has no valid '{jwt.TenantClaim}' claim.");
                    return Task.CompletedTask;
                }
                context.Principal!.AddIdentity(new ClaimsIdentity([new Claim(TenantClaims.Tenant, tenant!)], JwtBearerDefaults.AuthenticationScheme));
                return Task.CompletedTask;
            },
        };
    }
}
