using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using StackExchange.Redis;

namespace JobApi.Api;

/// <summary>Turns infrastructure failures into problem+json: an unreachable Redis (or a cluster slot in migration) is 503, an oversized
/// body 413; anything else is a 500 without internals.</summary>
public sealed partial class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            // A slot still migrating past the script retry budget (TRYAGAIN) is as transient as a failover.
            RedisConnectionException or RedisTimeoutException or ObjectDisposedException
                or RedisServerException { Kind: RedisErrorKind.TryAgain } => new ProblemDetails
            {
                Type = Problems.Unavailable, Title = "Redis unavailable", Status = StatusCodes.Status503ServiceUnavailable,
                Detail = "The job store (Redis) did not answer; try again shortly.",
            },
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new ProblemDetails
            {
                Type = Problems.TooLarge, Title = "Request body too large", Status = StatusCodes.Status413PayloadTooLarge,
                Detail = "The body exceeds JobApi:Limits:MaxBodyBytes.",
            },
            BadHttpRequestException bad => new ProblemDetails
            {
                Type = Problems.Validation, Title = "Bad request", Status = bad.StatusCode, Detail = bad.Message,
            },
            _ => null,
        };
        if (problem is null)
        {
            Log.Unhandled(logger, context.Request.Path, exception);
            return false;
        }
        if (problem.Status == StatusCodes.Status503ServiceUnavailable) context.Response.Headers.RetryAfter = "1";
        if (problem.Status == StatusCodes.Status413PayloadTooLarge) context.Response.Headers.Connection = "close";
        context.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Error, "Unhandled error on {Path}")]
        public static partial void Unhandled(ILogger logger, string path, Exception exception);
    }
}
