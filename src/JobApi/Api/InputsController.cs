using JobApi.Inputs;
using JobApi.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace JobApi.Api;

/// <summary>Uploaded inputs: large data that jobs reference with <c>"inputRef"</c> instead of carrying it inline.</summary>
[ApiController]
[Route("v1/inputs")]
public sealed class InputsController(IInputStore inputs, IOptions<JobApiOptions> options) : ControllerBase
{
    /// <summary>Uploads the raw body (<c>application/octet-stream</c> or <c>text/plain</c>), streamed into Redis in
    /// 1 MiB chunks, up to <c>JobApi:Limits:MaxInputBytes</c> (1 GiB by default). The input expires after the
    /// retention (<c>JobApi:Retention</c>), counted again each time a job references it.</summary>
    [HttpPost]
    [DisableRequestSizeLimit] // MaxInputBytes applies instead, counted while streaming
    [ProducesResponseType<InputInfoResponse>(StatusCodes.Status201Created, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status413PayloadTooLarge, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status415UnsupportedMediaType, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status503ServiceUnavailable, "application/problem+json")]
    public async Task<ActionResult<InputInfoResponse>> Upload()
    {
        var contentType = Request.ContentType?.Split(';')[0].Trim();
        if (contentType is not ("application/octet-stream" or "text/plain"))
        {
            return ProblemResult(new ProblemDetails
            {
                Type = Problems.UnsupportedMediaType, Title = "Unsupported media type", Status = StatusCodes.Status415UnsupportedMediaType,
                Detail = "Send the raw input as application/octet-stream or text/plain.",
            });
        }
        var max = options.Value.Limits.MaxInputBytes;
        if (Request.ContentLength > max) return TooLarge(max);
        try
        {
            var info = await inputs.SaveAsync(Request.Body, max, HttpContext.RequestAborted);
            return Created($"/v1/inputs/{info.Id}", new InputInfoResponse(info.Id, info.Bytes, info.Sha256));
        }
        catch (InputTooLargeException)
        {
            return TooLarge(max);
        }
    }

    private static ObjectResult TooLarge(long max) => ProblemResult(new ProblemDetails
    {
        Type = Problems.TooLarge, Title = "Input too large", Status = StatusCodes.Status413PayloadTooLarge,
        Detail = $"The upload exceeds JobApi:Limits:MaxInputBytes ({max} bytes).",
    });

    private static ObjectResult ProblemResult(ProblemDetails problem) =>
        new(problem) { StatusCode = problem.Status, ContentTypes = { "application/problem+json" } };
}

/// <summary>An uploaded input: reference it from a job's input as <c>"inputRef": id</c>.</summary>
public sealed record InputInfoResponse(string Id, long Bytes, string Sha256);
