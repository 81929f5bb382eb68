using JobApi.Inputs;
using JobApi.Options;
using JobApi.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace JobApi.Api;

/// <summary>Uploaded inputs: large data that jobs reference with <c>"inputRef"</c> instead of carrying it inline.
/// An input belongs to the tenant that uploaded it: to any other tenant it is unknown (404, and refused as
/// <c>inputRef</c> exactly like an unknown id).</summary>
[ApiController]
[Route("v1/inputs")]
public sealed class InputsController(IInputStore inputs, IOptions<JobApiOptions> options) : ControllerBase
{
    /// <summary>Uploads the raw body (<c>application/octet-stream</c> or <c>text/plain</c>), streamed into Redis in
    /// 1 MiB chunks, up to <c>JobApi:Limits:MaxInputBytes</c> (1 GiB by default). The input expires after the
    /// retention (<c>JobApi:Retention</c>), counted again each time a job references it. Its bytes count toward the
    /// tenant's <c>JobApi:Limits:MaxStoredBytesPerTenant</c> until it is deleted or expires.</summary>
    [HttpPost]
    [DisableRequestSizeLimit] // MaxInputBytes applies instead, counted while streaming
    [ProducesResponseType<InputInfoResponse>(StatusCodes.Status201Created, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status413PayloadTooLarge, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status415UnsupportedMediaType, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status429TooManyRequests, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status503ServiceUnavailable, "application/problem+json")]
    public async Task<ActionResult<InputInfoResponse>> Upload()
    {
        var contentType = Request.ContentType?.Split(';')[0].Trim();
        if (contentType is not ("application/octet-stream" or "text/plain"))
        {
            return Problems.Result(Response, new ProblemDetails
            {
                Type = Problems.UnsupportedMediaType, Title = "Unsupported media type", Status = StatusCodes.Status415UnsupportedMediaType,
                Detail = "Send the raw input as application/octet-stream or text/plain.",
            });
        }
        var max = options.Value.Limits.MaxInputBytes;
        if (Request.ContentLength > max) return TooLarge(max);
        try
        {
            var info = await inputs.SaveAsync(Request.Body, max, HttpContext.Tenant(), HttpContext.RequestAborted);
            return Created($"/v1/inputs/{info.Id}", InputInfoResponse.Of(info));
        }
        catch (InputTooLargeException)
        {
            return TooLarge(max);
        }
        catch (InputOverQuotaException e)
        {
            return Problems.Result(Response, Problems.OverQuota(e.Refusal));
        }
    }

    /// <summary>The input's size and SHA-256 (this also restarts its retention).</summary>
    [HttpGet("{id}")]
    [ProducesResponseType<InputInfoResponse>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<InputInfoResponse>> Get(string id) =>
        await inputs.FindAsync(id, HttpContext.Tenant(), HttpContext.RequestAborted) is { } info
            ? InputInfoResponse.Of(info) : NotFound(Problems.InputNotFound(id));

    /// <summary>Deletes the input and gives its bytes back to the tenant's quota. Jobs that still read it fail
    /// their shards with "input is gone".</summary>
    [HttpDelete("{id}")]
    [ProducesResponseType(StatusCodes.Status204NoContent)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<IActionResult> Delete(string id) =>
        await inputs.DeleteAsync(id, HttpContext.Tenant(), HttpContext.RequestAborted) ? NoContent() : NotFound(Problems.InputNotFound(id));

    private ObjectResult TooLarge(long max) => Problems.Result(Response, new ProblemDetails
    {
        Type = Problems.TooLarge, Title = "Input too large", Status = StatusCodes.Status413PayloadTooLarge,
        Detail = $"The upload exceeds JobApi:Limits:MaxInputBytes ({max} bytes).",
    });
}

/// <summary>An uploaded input: reference it from a job's input as <c>"inputRef": id</c>.</summary>
public sealed record InputInfoResponse(string Id, long Bytes, string Sha256)
{
    public static InputInfoResponse Of(InputInfo info) => new(info.Id, info.Bytes, info.Sha256);
}
