using JobApi.Engine;
using Microsoft.AspNetCore.Mvc;

namespace JobApi.Api;

/// <summary>Workers connected to this deployment.</summary>
[ApiController]
[Route("v1/workers")]
public sealed class WorkersController(WorkerRegistry registry) : ControllerBase
{
    /// <summary>Live workers (a heartbeat within the last 10 seconds) with the shards each is running now.</summary>
    [HttpGet]
    [ProducesResponseType<WorkerPage>(StatusCodes.Status200OK, "application/json")]
    public async Task<ActionResult<WorkerPage>> List() => await registry.ListAsync();
}
