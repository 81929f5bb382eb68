using System.Globalization;
using System.Threading.RateLimiting;
using JobApi.Api;
using JobApi.Engine;
using JobApi.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using StackExchange.Redis;

namespace JobApi.Security;

/// <summary><c>JobApi:Limits:RequestsPerSecond</c> on every <c>/v1</c> endpoint: a token bucket per tenant
/// (per client address for unauthenticated callers), refilled every second; over it, 429 problem+json
/// with <c>Retry-After</c>. With <c>JobApi:Limits:RateLimiter=Redis</c> (the default) the bucket is in Redis and shared by
/// every API node (<see cref="RedisRateLimiter"/>); with <c>Memory</c> each node keeps its own.</summary>
public static class RequestRateLimits
{
    public const string LimitName = "JobApi:Limits:RequestsPerSecond";

    public static IServiceCollection AddJobApiRateLimits(this IServiceCollection services, LimitsOptions limits)
    {
        var perSecond = limits.RequestsPerSecond;
        var shared = limits.RateLimiter == "Redis";
        services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (perSecond <= 0 || !context.Request.Path.StartsWithSegments("/v1"))
                    return RateLimitPartition.GetNoLimiter("unlimited");
                var tenant = context.User.FindFirst(TenantClaims.Tenant)?.Value;
                var key = tenant is not null ? "tenant:" + tenant : "address:" + context.Connection.RemoteIpAddress;
                if (shared)
                {
                    var services = context.RequestServices;
                    return RateLimitPartition.Get(key, k => new RedisRateLimiter(services.GetRequiredService<IConnectionMultiplexer>(),
                        services.GetRequiredService<RedisKeys>().RateBucket(k), perSecond, services.GetRequiredService<ILogger<RedisRateLimiter>>()));
                }
                return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = perSecond, TokensPerPeriod = perSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0, AutoReplenishment = true,
                });
            });
            o.OnRejected = async (rejected, cancellationToken) =>
            {
                var context = rejected.HttpContext;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                var problem = new ProblemDetails
                {
                    Type = Problems.RateLimited, Title = "Too many requests", Status = StatusCodes.Status429TooManyRequests,
                    Detail = $"More than {perSecond} requests per second ({LimitName}); retry after {retryAfter} s.",
                };
                problem.Extensions["limit"] = LimitName;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>()
                    .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
            };
        });
        return services;
    }
}
