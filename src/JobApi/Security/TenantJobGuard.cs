using JobApi.Api;
using JobApi.Engine;
using JobApi.Options;
using Microsoft.AspNetCore.Routing.Patterns;

namespace JobApi.Security;

/// <summary>The one place where a job is checked against the caller's tenant: every endpoint whose route
/// is <c>v1/jobs/{id}...</c> (any method, controllers and minimal endpoints alike, present and future)
/// answers 404, exactly as for an unknown id, when the job belongs to another tenant.</summary>
public sealed class TenantJobGuard(RequestDelegate next, JobStore store)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint() is RouteEndpoint endpoint && IsJobRoute(endpoint.RoutePattern)
            && context.Request.RouteValues.TryGetValue("id", out var value) && value is string id
            && await store.BelongsToAnotherTenantAsync(id, context.Tenant()))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
            await problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = Problems.JobNotFound(id) });
            return;
        }
        await next(context);
    }

    private static bool IsJobRoute(RoutePattern pattern) =>
        pattern.RawText is { } raw && raw.TrimStart('/').StartsWith("v1/jobs/{id", StringComparison.OrdinalIgnoreCase);
}

public static class TenantHttpContextExtensions
{
    /// <summary>The caller's tenant: from the API key or token; <c>default</c> in open mode.</summary>
    public static string Tenant(this HttpContext context) =>
        context.User.FindFirst(TenantClaims.Tenant)?.Value ?? Tenants.Default;
}
