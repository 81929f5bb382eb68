using System.Text.Json;
using FluentValidation;
using FluentValidation.AspNetCore;
using JobApi.Engine;
using Microsoft.AspNetCore.Mvc;

namespace JobApi.Api;

/// <summary>Recurring jobs: a cron expression in a time zone starts a job on each tick, once across all nodes.</summary>
[ApiController]
[Route("v1/schedules")]
public sealed class SchedulesController(ScheduleStore schedules, IValidator<ScheduleRequest> validator) : ControllerBase
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Creates a schedule. Jobs it starts carry its id as <c>scheduleId</c>.</summary>
    [HttpPost]
    [Consumes("application/json")]
    [ProducesResponseType<ScheduleInfo>(StatusCodes.Status201Created, "application/json")]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, "application/problem+json")]
    public async Task<ActionResult<ScheduleInfo>> Create([FromBody] ScheduleRequest request)
    {
        var check = await validator.ValidateAsync(request);
        check.AddToModelState(ModelState);
        if (!ModelState.IsValid) return ValidationProblem(ModelState);
        var job = JsonSerializer.SerializeToElement(request.Job, Json);
        var created = await schedules.CreateAsync(request.Cron!, request.TimeZone ?? "UTC", job);
        return Created($"/v1/schedules/{created.Id}", created);
    }

    /// <summary>Every schedule (up to 1,000), oldest first.</summary>
    [HttpGet]
    [ProducesResponseType<SchedulePage>(StatusCodes.Status200OK, "application/json")]
    public async Task<ActionResult<SchedulePage>> List() => new SchedulePage(await schedules.ListAsync());

    /// <summary>One schedule; <c>nextRunAt</c> is null while it is paused.</summary>
    [HttpGet("{id}")]
    [ProducesResponseType<ScheduleInfo>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<ScheduleInfo>> Get(string id) =>
        await schedules.GetAsync(id) is { } s ? s : NotFound(Problems.ScheduleNotFound(id));

    /// <summary>Deletes a schedule; jobs it started are kept.</summary>
    [HttpDelete("{id}")]
    [ProducesResponseType(StatusCodes.Status204NoContent)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<IActionResult> Delete(string id) =>
        await schedules.DeleteAsync(id) ? NoContent() : NotFound(Problems.ScheduleNotFound(id));

    /// <summary>Stops firing until resumed (idempotent).</summary>
    [HttpPost("{id}/pause")]
    [ProducesResponseType<ScheduleInfo>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<ScheduleInfo>> Pause(string id) =>
        await schedules.SetPausedAsync(id, true) is { } s ? s : NotFound(Problems.ScheduleNotFound(id));

    /// <summary>Fires again from the next tick after now; ticks missed while paused do not fire (idempotent).</summary>
    [HttpPost("{id}/resume")]
    [ProducesResponseType<ScheduleInfo>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<ScheduleInfo>> Resume(string id) =>
        await schedules.SetPausedAsync(id, false) is { } s ? s : NotFound(Problems.ScheduleNotFound(id));
}

/// <summary>The schedules list.</summary>
public sealed record SchedulePage(IReadOnlyList<ScheduleInfo> Items);
