using JobApi.Api;
using JobApi.Engine;
using JobApi.Inputs;
using JobApi.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Patterns;

namespace JobApi.Security;

/// <summary>The one place where a job, an uploaded input or a schedule is checked against the caller's tenant: every
/// endpoint whose route is <c>v1/jobs/{id}...</c>, <c>v1/inputs/{id}...</c> or <c>v1/schedules/{id}...</c> (any method,
/// controllers and minimal endpoints alike, present and future) answers 404, exactly as for an unknown id, when the
/// resource belongs to another tenant. The stores check the tenant again where they read by id for a caller.</summary>
public sealed class TenantResourceGuard(RequestDelegate next, JobStore jobs, IInputStore inputs, ScheduleStore schedules)
{
    private sealed record Resource(string RoutePrefix, Func<string, string, Task<bool>> BelongsToAnother, Func<string, ProblemDetails> NotFound);

    private readonly Resource[] _resources =
    [
        new("v1/jobs/{id", jobs.BelongsToAnotherTenantAsync, Problems.JobNotFound),
        new("v1/inputs/{id", async (id, tenant) => await inputs.OwnerAsync(id) is { } owner && owner != tenant, Problems.InputNotFound),
        new("v1/schedules/{id", async (id, tenant) => await schedules.OwnerAsync(id) is { } owner && owner != tenant, Problems.ScheduleNotFound),
    ];

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint() is RouteEndpoint endpoint && ResourceOf(endpoint.RoutePattern) is { } resource
            && context.Request.RouteValues.TryGetValue("id", out var value) && value is string id
            && await resource.BelongsToAnother(id, context.Tenant()))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
            await problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = resource.NotFound(id) });
            return;
        }
        await next(context);
    }

    private Resource? ResourceOf(RoutePattern pattern) =>
        pattern.RawText is { } raw
            ? Array.Find(_resources, r => raw.TrimStart('/').StartsWith(r.RoutePrefix, StringComparison.OrdinalIgnoreCase))
            : null;
}

public static class TenantHttpContextExtensions
{
    /// <summary>The caller's tenant: from the API key or token; <c>default</c> in open mode.</summary>
    public static string Tenant(this HttpContext context) =>
        context.User.FindFirst(TenantClaims.Tenant)?.Value ?? Tenants.Default;
}
