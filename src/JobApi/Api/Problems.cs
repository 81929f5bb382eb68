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

    public static ProblemDetails JobNotFound(string id) => new()
    {
        Type = NotFound, Title = "Job not found", Status = StatusCodes.Status404NotFound,
        Detail = $"There is no job '{id}' (it may have expired after its retention).",
    };
}
