using System.Text.Json.Nodes;
using JobApi.JobKinds;
using Microsoft.AspNetCore.Mvc;

namespace JobApi.Api;

/// <summary>The kinds of computation this service runs.</summary>
[ApiController]
[Route("v1/kinds")]
public sealed class KindsController(JobKindRegistry kinds) : ControllerBase
{
    /// <summary>Every kind with the JSON Schema of its input and a submit body that works as is.</summary>
    [HttpGet]
    [ProducesResponseType<IEnumerable<KindInfo>>(StatusCodes.Status200OK, "application/json")]
    public IEnumerable<KindInfo> List() =>
        kinds.All.Select(k => new KindInfo(k.Name, k.Description, k.InputSchema, k.Example));
}

public sealed record KindInfo(string Name, string Description, JsonNode InputSchema, JsonNode Example);
