using FluentValidation;
using FluentValidation.AspNetCore;
using JobApi.Engine;
using JobApi.JobKinds;
using JobApi.Options;
using JobApi.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace JobApi.Api;

/// <summary>Jobs: submit, watch, read results, cancel.</summary>
[ApiController]
[Route("v1/jobs")]
public sealed class JobsController(
    JobStore store, JobKindRegistry kinds, IValidator<SubmitRequest> validator, RedisMemoryGuard memory, IOptions<JobApiOptions> options)
    : ControllerBase
{
    private const int MaxIdempotencyKeyLength = 200;

    /// <summary>Submits a job. With an <c>Idempotency-Key</c>, repeating the same body returns the same job. With
    /// <c>Prefer: wait=N</c> (RFC 7240; N seconds, at most <c>JobApi:Limits:MaxWaitSeconds</c>) the answer waits until the
    /// job ends or the time is up: <c>200</c> with the result (as <c>GET /v1/jobs/{id}/result</c>) when it succeeded,
    /// otherwise the usual <c>202</c> with its status then; <c>Preference-Applied</c> says the wait was honoured.</summary>
    /// <param name="request">The job.</param>
    /// <param name="idempotencyKey">Up to 200 characters; the same key with the same body returns the same job.</param>
    /// <param name="prefer">RFC 7240 preferences: <c>wait=N</c> waits up to N seconds for the job to end; others are ignored.</param>
    [HttpPost]
    [Consumes("application/json")]
    [ProducesResponseType<JobResult>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<JobStatus>(StatusCodes.Status202Accepted, "application/json")]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status413PayloadTooLarge, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status415UnsupportedMediaType, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status422UnprocessableEntity, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status429TooManyRequests, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status503ServiceUnavailable, "application/problem+json")]
    public async Task<ActionResult> Submit(
        [FromBody] SubmitRequest request, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, [FromHeader(Name = "Prefer")] string? prefer)
    {
        if (idempotencyKey is { Length: > MaxIdempotencyKeyLength or 0 })
            ModelState.AddModelError("Idempotency-Key", $"Idempotency-Key must be 1 to {MaxIdempotencyKeyLength} characters.");
        var check = await validator.ValidateAsync(request);
        check.AddToModelState(ModelState);
        if (!ModelState.IsValid) return ValidationProblem(ModelState);

        if (!kinds.TryGet(request.Kind!, out var kind)) return ValidationProblem(ModelState);
        var plan = await kind.PlanAsync(request.Input, request.Shards, options.Value.Limits.MaxShards, HttpContext.Tenant(), HttpContext.RequestAborted);
        if (!plan.IsValid)
        {
            foreach (var (field, messages) in plan.Errors!)
                foreach (var message in messages) ModelState.AddModelError(field, message);
            return ValidationProblem(ModelState);
        }

        if (await memory.OverLimitAsync() is var (used, max))
            return Refused(Problems.MemoryFull(used, max, options.Value.Limits.RedisMemoryFraction));
        // A waiting submit watches its job's id before the job exists: its end is then seen without reading it.
        var wait = PreferWait.Parse(prefer, options.Value.Limits.MaxWaitSeconds);
        var (newId, waiter) = wait is null ? (null, null) : await store.WatchNewJobAsync();
        using var watching = waiter;
        var outcome = await store.SubmitAsync(HttpContext.Tenant(), request.Kind!, request.Input, request.Shards,
            request.MaxAttempts ?? SubmitRequestValidator.DefaultMaxAttempts, plan, idempotencyKey, request.ToOptions(), newId);
        if (outcome.Quota is not null) return Refused(Problems.OverQuota(outcome.Quota));
        if (outcome.Status is null)
        {
            return Problem(type: Problems.IdempotencyMismatch, title: "Idempotency-Key reused with a different body",
                statusCode: StatusCodes.Status422UnprocessableEntity,
                detail: "This Idempotency-Key was used before with another request body; use a new key for a new job.");
        }
        if (!outcome.Created) Response.Headers["Idempotent-Replayed"] = "true";
        var location = $"/v1/jobs/{outcome.Status.Id}";
        if (wait is not { } seconds) return Accepted(location, outcome.Status);
        Response.Headers["Preference-Applied"] = $"wait={seconds}";
        // A job that ended within its submit has its result already.
        var (status, stored) = outcome.Result is { } ended ? (outcome.Status, ended)
            : await store.WaitForSubmittedAsync(outcome, waiter!, TimeSpan.FromSeconds(seconds), JobResultsController.DefaultLimit, HttpContext.RequestAborted);
        if (status is null) return Accepted(location, outcome.Status); // deleted meanwhile: what the submit saw
        if (stored is null) return Accepted(location, status);
        Response.Headers.Location = location;
        Response.Headers.ContentLocation = $"{location}/result";
        return Ok(new JobResult(status.Id, status.Kind, JobResultsController.Compose(stored)));
    }

    private ObjectResult Refused(ProblemDetails problem) => Problems.Result(Response, problem);

    /// <summary>The job's status: state, shard counts, progress.</summary>
    [HttpGet("{id}")]
    [ProducesResponseType<JobStatus>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<JobStatus>> Get(string id) =>
        await store.GetStatusAsync(id) is { } status ? status : NotFound(Problems.JobNotFound(id));

    /// <summary>Shards of the job, in index order, paged.</summary>
    [HttpGet("{id}/shards")]
    [ProducesResponseType<ShardPage>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<ShardPage>> Shards(string id, [FromQuery] string? cursor = null, [FromQuery] int limit = 100)
    {
        var start = 0;
        if (cursor is not null && (!int.TryParse(cursor, out start) || start < 0))
            ModelState.AddModelError(nameof(cursor), "cursor must be a value returned as nextCursor.");
        if (limit is < 1 or > 1000) ModelState.AddModelError(nameof(limit), "limit must be between 1 and 1000.");
        if (!ModelState.IsValid) return ValidationProblem(ModelState);
        return await store.GetShardsAsync(id, start, limit) is { } page ? page : NotFound(Problems.JobNotFound(id));
    }

    /// <summary>Cancels the job: queued shards stop at once, running ones within seconds. No effect on a finished job.</summary>
    [HttpPost("{id}/cancel")]
    [ProducesResponseType<JobStatus>(StatusCodes.Status202Accepted, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<JobStatus>> Cancel(string id) =>
        await store.CancelAsync(id) is { } status ? Accepted(status) : NotFound(Problems.JobNotFound(id));

    /// <summary>Deletes a finished job and all its data (204). A job that has not finished is a 409 unless
    /// <c>cancel=true</c>, which cancels it first. Afterwards the job is 404.</summary>
    [HttpDelete("{id}")]
    [ProducesResponseType(StatusCodes.Status204NoContent)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict, "application/problem+json")]
    public async Task<IActionResult> Delete(string id, [FromQuery] bool cancel = false)
    {
        var (outcome, state) = await store.DeleteAsync(id, cancel);
        return outcome switch
        {
            DeleteOutcome.Deleted => NoContent(),
            DeleteOutcome.Unfinished => Conflict(Problems.JobUnfinished(id, state!)),
            _ => NotFound(Problems.JobNotFound(id)),
        };
    }

    /// <summary>Retries a failed job: its dead-lettered shards (and any other shard that had not succeeded) are
    /// queued again with a fresh allowance of <c>maxAttempts</c>; the job goes back to <c>running</c>. 409 unless the job is failed.</summary>
    [HttpPost("{id}/retry")]
    [ProducesResponseType<JobStatus>(StatusCodes.Status202Accepted, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status429TooManyRequests, "application/problem+json")]
    public async Task<ActionResult<JobStatus>> Retry(string id)
    {
        var outcome = await store.RetryAsync(id);
        if (outcome?.Status is { } status) return Accepted($"/v1/jobs/{id}", status);
        if (outcome?.Quota is { } quota) return Refused(Problems.OverQuota(quota));
        if (outcome?.ConflictState is not { } state) return NotFound(Problems.JobNotFound(id));
        var problem = new ProblemDetails
        {
            Type = Problems.NotFailed, Status = StatusCodes.Status409Conflict, Title = "Only a failed job can be retried",
            Detail = $"Job {id} is {state}; retry requeues the dead shards of a failed job.",
        };
        problem.Extensions["state"] = state;
        return Conflict(problem);
    }

    /// <summary>The caller's tenant's jobs, newest first, filtered by state and kind, paged with <c>nextCursor</c>.</summary>
    [HttpGet]
    [ProducesResponseType<JobPage>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, "application/problem+json")]
    public async Task<ActionResult<JobPage>> List([FromQuery] string? state = null, [FromQuery] string? kind = null,
        [FromQuery] string? cursor = null, [FromQuery] int limit = 50)
    {
        if (state is not null && !JobStates.All.Contains(state))
            ModelState.AddModelError(nameof(state), $"state must be one of {string.Join(", ", JobStates.All)}.");
        if (kind is not null && !kinds.TryGet(kind, out _)) ModelState.AddModelError(nameof(kind), $"Unknown kind '{kind}'.");
        if (cursor is not null && !JobId.IsWellFormed(cursor)) ModelState.AddModelError(nameof(cursor), "cursor must be a value returned as nextCursor.");
        if (limit is < 1 or > 1000) ModelState.AddModelError(nameof(limit), "limit must be between 1 and 1000.");
        if (!ModelState.IsValid) return ValidationProblem(ModelState);
        return await store.ListAsync(HttpContext.Tenant(), state, kind, cursor, limit);
    }
}
