using Microsoft.AspNetCore.Mvc;

namespace JobApi.Api;

/// <summary>Stable problem types (RFC 9457 <c>type</c>) and builders for the API's errors.</summary>
public static class Problems
{
    public const string Validation = "urn:jobapi:problem:validation";
    public const string NotFound = "urn:jobapi:problem:not-found";
    public const string NotFinished = "urn:jobapi:problem:job-not-succeeded";
    public const string IdempotencyMismatch = "urn:jobapi:problem:idempotency-key-reused";
    public const string Unavailable = "urn:jobapi:problem:redis-unavailable";
    public const string TooLarge = "urn:jobapi:problem:body-too-large";
    public const string UnsupportedMediaType = "urn:jobapi:problem:unsupported-media-type";
    public const string NotFailed = "urn:jobapi:problem:job-not-failed";

    public const string Unfinished = "urn:jobapi:problem:job-not-finished";

    public static ProblemDetails JobUnfinished(string id, string state)
    {
        var problem = new ProblemDetails
        {
            Type = Unfinished, Title = "The job has not finished", Status = StatusCodes.Status409Conflict,
            Detail = $"Job {id} is {state}; delete it once it has finished, or with ?cancel=true to cancel it first.",
        };
        problem.Extensions["state"] = state;
        return problem;
    }

    public static ProblemDetails ScheduleNotFound(string id) => new()
    {
        Type = NotFound, Title = "Schedule not found", Status = StatusCodes.Status404NotFound,
        Detail = $"There is no schedule '{id}'.",
    };

    public const string Unauthorized = "urn:jobapi:problem:unauthorized";
    public const string RateLimited = "urn:jobapi:problem:rate-limited";
    public const string QuotaExceeded = "urn:jobapi:problem:quota-exceeded";
    public const string RedisMemory = "urn:jobapi:problem:redis-memory-full";
    public const string TooManyStreams = "urn:jobapi:problem:too-many-event-streams";

    public static ProblemDetails StreamsFull(int max) => new()
    {
        Type = TooManyStreams, Title = "Too many events streams", Status = StatusCodes.Status503ServiceUnavailable,
        Detail = $"This node has {max} tenant events streams open (JobApi:Limits:MaxEventStreams); try again later or on another node.",
    };

    /// <summary>Seconds a client should wait before retrying a submit refused by a quota or the memory guard.</summary>
    public const int QuotaRetryAfterSeconds = 5;

    public static ProblemDetails JobNotFound(string id) => new()
    {
        Type = NotFound, Title = "Job not found", Status = StatusCodes.Status404NotFound,
        Detail = $"There is no job '{id}' (it may have expired after its retention).",
    };

    public static ProblemDetails InputNotFound(string id) => new()
    {
        Type = NotFound, Title = "Input not found", Status = StatusCodes.Status404NotFound,
        Detail = $"There is no input '{id}' (inputs expire after the retention; upload one with POST /v1/inputs).",
    };

    /// <summary>A problem answered as is, with <c>Retry-After</c> when it is a refusal to try again later (quota, memory guard).</summary>
    public static ObjectResult Result(HttpResponse response, ProblemDetails problem)
    {
        if (problem.Status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
            response.Headers.RetryAfter = QuotaRetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ObjectResult(problem) { StatusCode = problem.Status, ContentTypes = { "application/problem+json" } };
    }

    public static ProblemDetails OverQuota(Engine.QuotaRefusal refusal)
    {
        var problem = new ProblemDetails
        {
            Type = QuotaExceeded, Title = "Tenant quota exceeded", Status = StatusCodes.Status429TooManyRequests,
            Detail = $"This job would take the tenant over {refusal.Limit} ({refusal.Used} used, cap {refusal.Max}); retry once running jobs finish.",
        };
        problem.Extensions["limit"] = refusal.Limit;
        problem.Extensions["used"] = refusal.Used;
        problem.Extensions["max"] = refusal.Max;
        return problem;
    }

    public static ProblemDetails MemoryFull(long used, long max, double fraction)
    {
        var problem = new ProblemDetails
        {
            Type = RedisMemory, Title = "Job store is nearly full", Status = StatusCodes.Status503ServiceUnavailable,
            Detail = $"Redis uses {used} of {max} bytes, over JobApi:Limits:RedisMemoryFraction ({fraction}); new jobs are refused until running ones finish or expire.",
        };
        problem.Extensions["limit"] = "JobApi:Limits:RedisMemoryFraction";
        return problem;
    }
}
