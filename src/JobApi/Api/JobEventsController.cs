using JobApi.Engine;
using Microsoft.AspNetCore.Mvc;

namespace JobApi.Api;

/// <summary>A job's live events (Server-Sent Events).</summary>
[ApiController]
[Route("v1/jobs")]
public sealed class JobEventsController(JobStore store, JobEventStream stream) : ControllerBase
{
    /// <summary>
    /// Server-Sent Events of the job: <c>state</c> and <c>progress</c> messages whose <c>data</c> is the job
    /// status and whose <c>id</c> increases; the stream ends after the final <c>state</c> message (also sent
    /// again when resuming after it). <c>Last-Event-ID</c> (header, or <c>lastEventId</c> in the query) resumes
    /// after that id.
    /// </summary>
    [HttpGet("{id}/events")]
    [ProducesResponseType<JobStatus>(StatusCodes.Status200OK, "text/event-stream")]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult> Events(string id, [FromHeader(Name = "Last-Event-ID")] string? lastEventIdHeader,
        [FromQuery] string? lastEventId = null)
    {
        var resumeFrom = lastEventIdHeader ?? lastEventId;
        long? after = null;
        if (resumeFrom is not null)
        {
            if (long.TryParse(resumeFrom, out var parsed) && parsed >= 0) after = parsed;
            else
            {
                ModelState.AddModelError("Last-Event-ID", "Last-Event-ID must be an id received from this stream.");
                return ValidationProblem(ModelState);
            }
        }
        if (await store.GetStatusAsync(id) is null) return NotFound(Problems.JobNotFound(id));
        await stream.WriteAsync(HttpContext, id, after, HttpContext.RequestAborted);
        return new EmptyResult();
    }
}
