using System.Text.Json;
using FluentValidation;
using FluentValidation.AspNetCore;
using JobApi.Engine;
using JobApi.Security;
using Microsoft.AspNetCore.Mvc;

namespace JobApi.Api;

/// <summary>Recurring jobs: a cron expression in a time zone starts a job on each tick, once across all nodes. A schedule
/// belongs to the tenant that created it: its jobs are that tenant's (and count toward its quotas), and to any other
/// tenant it is unknown (404).</summary>
[ApiController]
[Route("v1/schedules")]
public sealed class SchedulesController(ScheduleStore schedules, IValidator<ScheduleRequest> validator) : ControllerBase
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Creates a schedule. Jobs it starts carry its id as <c>scheduleId</c>. A tick that would take the tenant
    /// over a quota starts no job; the schedule shows it as <c>lastSkipped</c>.</summary>
    [HttpPost]
    [Consumes("application/json")]
    [ProducesResponseType<ScheduleInfo>(StatusCodes.Status201Created, "application/json")]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, "application/problem+json")]
    public async Task<ActionResult<ScheduleInfo>> Create([FromBody] ScheduleRequest request)
    {
        var check = await validator.ValidateAsync(ScheduleRequestValidator.ContextFor(request, HttpContext.Tenant()));
        check.AddToModelState(ModelState);
        if (!ModelState.IsValid) return ValidationProblem(ModelState);
        var job = JsonSerializer.SerializeToElement(request.Job, Json);
        var created = await schedules.CreateAsync(HttpContext.Tenant(), request.Cron!, request.TimeZone ?? "UTC", job);
        return Created($"/v1/schedules/{created.Id}", created);
    }

    /// <summary>The caller's tenant's schedules (up to 1,000), oldest first.</summary>
    [HttpGet]
    [ProducesResponseType<SchedulePage>(StatusCodes.Status200OK, "application/json")]
    public async Task<ActionResult<SchedulePage>> List() => new SchedulePage(await schedules.ListAsync(HttpContext.Tenant()));

    /// <summary>One schedule; <c>nextRunAt</c> is null while it is paused.</summary>
    [HttpGet("{id}")]
    [ProducesResponseType<ScheduleInfo>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<ScheduleInfo>> Get(string id) =>
        await schedules.GetAsync(id, HttpContext.Tenant()) is { } s ? s : NotFound(Problems.ScheduleNotFound(id));

    /// <summary>Deletes a schedule; jobs it started are kept.</summary>
    [HttpDelete("{id}")]
    [ProducesResponseType(StatusCodes.Status204NoContent)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<IActionResult> Delete(string id) =>
        await schedules.DeleteAsync(id, HttpContext.Tenant()) ? NoContent() : NotFound(Problems.ScheduleNotFound(id));

    /// <summary>Stops firing until resumed (idempotent).</summary>
    [HttpPost("{id}/pause")]
    [ProducesResponseType<ScheduleInfo>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<ScheduleInfo>> Pause(string id) =>
        await schedules.SetPausedAsync(id, true, HttpContext.Tenant()) is { } s ? s : NotFound(Problems.ScheduleNotFound(id));

    /// <summary>Fires again from the next tick after now; ticks missed while paused do not fire (idempotent).</summary>
    [HttpPost("{id}/resume")]
    [ProducesResponseType<ScheduleInfo>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status404NotFound, "application/problem+json")]
    public async Task<ActionResult<ScheduleInfo>> Resume(string id) =>
        await schedules.SetPausedAsync(id, false, HttpContext.Tenant()) is { } s ? s : NotFound(Problems.ScheduleNotFound(id));
}

/// <summary>The schedules list.</summary>
public sealed record SchedulePage(IReadOnlyList<ScheduleInfo> Items);
