namespace JobApi.Security;

/// <summary>Security headers on every response (API, Swagger UI, dashboard): no MIME sniffing, no framing,
/// no referrer, a Content-Security-Policy that allows only the service's own scripts and connections, and
/// <c>Cache-Control: no-store</c> on <c>/v1</c> (tenant data must not sit in shared caches).</summary>
public sealed class SecurityHeaders(RequestDelegate next)
{
    /// <summary>Pages (the Swagger UI has no inline script) may load scripts, styles and images from the service itself and call its API; nothing else.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        if (context.Request.Path.StartsWithSegments("/v1")) headers.CacheControl = "no-store";
        return next(context);
    }
}
