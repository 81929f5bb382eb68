using JobApi.Security;
using Microsoft.AspNetCore.Mvc;

namespace JobApi.Api;

/// <summary>The caller's jobs as they end (Server-Sent Events).</summary>
[ApiController]
[Route("v1/events")]
public sealed class TenantEventsController(TenantEventStream stream, Microsoft.Extensions.Options.IOptions<JobApi.Options.JobApiOptions> options) : ControllerBase
{
    /// <summary>
    /// Server-Sent Events, one <c>end</c> message per job of the caller's tenant that ends while the stream is open
    /// (on any node): <c>data</c> is <c>{"id", "state", "result"}</c>, <c>state</c> the final one (<c>succeeded</c>,
    /// <c>failed</c> or <c>canceled</c>) and <c>result</c> present for a short result of a succeeded job (a longer one is
    /// read with <c>GET /v1/jobs/{id}/result</c>). Live only: ends from before the stream opened are not sent. A client
    /// that falls more than 4,096 messages behind gets a <c>lost</c> message with the <c>count</c> of ends not sent.
    /// A comment line every 15 s keeps a quiet stream open; the node ends its streams when it stops.
    /// </summary>
    [HttpGet]
    [ProducesResponseType<JobEnd>(StatusCodes.Status200OK, "text/event-stream")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status503ServiceUnavailable, "application/problem+json")]
    public async Task<ActionResult> Events()
    {
        if (await stream.TryWriteAsync(HttpContext, HttpContext.Tenant(), HttpContext.RequestAborted)) return new EmptyResult();
        return Problems.Result(Response, Problems.StreamsFull(options.Value.Limits.MaxEventStreams));
    }
}

/// <summary>The data of an <c>end</c> message of <c>GET /v1/events</c>.</summary>
/// <param name="Id">The job.</param>
/// <param name="State"><c>succeeded</c>, <c>failed</c> or <c>canceled</c>.</param>
/// <param name="Result">The job's result, when it is short enough to come with its end; otherwise absent.</param>
public sealed record JobEnd(string Id, string State, System.Text.Json.JsonElement? Result);
