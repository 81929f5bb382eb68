using System.Buffers;
using System.Text;
using System.Text.Json;
using JobApi.Engine;
using Microsoft.AspNetCore.Mvc;

namespace JobApi.Api;

/// <summary>Results of succeeded jobs: whole, paged (for results with an <c>items</c> array) or streamed.</summary>
[ApiController]
[Route("v1/jobs/{id}/result")]
public sealed class JobResultsController(JobStore store, Microsoft.Extensions.Options.IOptions<JobApi.Options.JobApiOptions> options) : ControllerBase
{
    public const int DefaultLimit = 1_000;
    public const int MaxLimit = 100_000;
    private const int DownloadPage = 10_000;

    /// <summary>The result of a succeeded job. <c>waitSeconds</c> (0..60, <c>JobApi:Limits:MaxWaitSeconds</c>) holds the request until the job ends.
    /// A result with an <c>items</c> array is paged: <c>items</c> holds at most <c>limit</c> (default 1,000,
    /// max 100,000) items from <c>offset</c> (default 0), and <c>total</c> counts them all.</summary>
    [HttpGet]
    [ProducesResponseType<JobResult>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict, "application/problem+json")]
    public async Task<ActionResult<JobResult>> Get(string id, [FromQuery] int waitSeconds = 0,
        [FromQuery] long offset = 0, [FromQuery] int limit = DefaultLimit)
    {
        var maxWait = options.Value.Limits.MaxWaitSeconds;
        if (waitSeconds < 0 || waitSeconds > maxWait)
            ModelState.AddModelError(nameof(waitSeconds), $"waitSeconds must be between 0 and {maxWait} (JobApi:Limits:MaxWaitSeconds).");
        if (offset < 0) ModelState.AddModelError(nameof(offset), "offset must be 0 or more.");
        if (limit is < 1 or > MaxLimit) ModelState.AddModelError(nameof(limit), $"limit must be between 1 and {MaxLimit}.");
        if (!ModelState.IsValid) return ValidationProblem(ModelState);
        var (status, stored) = await store.WaitForResultAsync(id, TimeSpan.FromSeconds(waitSeconds), offset, limit, HttpContext.RequestAborted);
        if (status is null) return NotFound(Problems.JobNotFound(id));
        return stored is not null ? new JobResult(status.Id, status.Kind, Compose(stored)) : NotSucceeded(status);
    }

    /// <summary>The whole result as a stream: a result with <c>items</c> as <c>text/plain</c>, one item a line
    /// (strings without quotes, numbers as in JSON); any other result as its JSON.</summary>
    [HttpGet("download")]
    [ProducesResponseType<string>(StatusCodes.Status200OK, "text/plain", "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict, "application/problem+json")]
    public async Task<IActionResult> Download(string id)
    {
        var status = await store.GetStatusAsync(id);
        if (status is null) return NotFound(Problems.JobNotFound(id));
        if (status.State != JobStates.Succeeded || await store.GetResultAsync(id, 0, DownloadPage) is not { } first) return NotSucceeded(status);
        var cancel = HttpContext.RequestAborted;
        if (first.Total is null)
        {
            Response.ContentType = "application/json";
            await Response.Body.WriteAsync(Encoding.UTF8.GetBytes(first.Json), cancel);
            return new EmptyResult();
        }
        Response.ContentType = "text/plain; charset=utf-8";
        long written = 0;
        for (var page = first.Items; page.Length > 0; page = await store.GetResultItemsAsync(id, written, DownloadPage))
        {
            var text = new ArrayBufferWriter<byte>(page.Length * 24);
            foreach (var item in page) WriteLine(text, (string)item!);
            await Response.Body.WriteAsync(text.WrittenMemory, cancel);
            written += page.Length;
            if (written >= first.Total) break;
        }
        return new EmptyResult();
    }

    private static void WriteLine(ArrayBufferWriter<byte> text, string item)
    {
        var line = item.StartsWith('"') ? JsonSerializer.Deserialize<string>(item)! : item;
        Encoding.UTF8.GetBytes(line + "\n", text);
    }

    /// <summary>The stored fields, then the page of items and their total.</summary>
    internal static JsonElement Compose(StoredResult stored)
    {
        if (stored.Total is null)
        {
            using var whole = JsonDocument.Parse(stored.Json);
            return whole.RootElement.Clone();
        }
        var buffer = new ArrayBufferWriter<byte>(stored.Json.Length + stored.Items.Length * 24 + 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            using var head = JsonDocument.Parse(stored.Json);
            writer.WriteStartObject();
            foreach (var property in head.RootElement.EnumerateObject()) property.WriteTo(writer);
            writer.WriteStartArray("items");
            foreach (var item in stored.Items) writer.WriteRawValue((string)item!, skipInputValidation: true);
            writer.WriteEndArray();
            writer.WriteNumber("total", stored.Total.Value);
            writer.WriteEndObject();
        }
        using var composed = JsonDocument.Parse(buffer.WrittenMemory);
        return composed.RootElement.Clone();
    }

    private ObjectResult NotSucceeded(JobStatus status)
    {
        var problem = new ProblemDetails
        {
            Type = Problems.NotFinished, Status = StatusCodes.Status409Conflict,
            Title = status.IsFinal ? $"The job {status.State}" : "The job has not finished",
            Detail = status.IsFinal ? $"Job {status.Id} ended {status.State}; it has no result." : $"Job {status.Id} is {status.State} ({status.Progress:P0} done).",
        };
        problem.Extensions["state"] = status.State;
        if (status.Error is not null) problem.Extensions["error"] = status.Error;
        return Conflict(problem);
    }
}

/// <summary>The result of a succeeded job.</summary>
public sealed record JobResult(string Id, string Kind, JsonElement Result);
