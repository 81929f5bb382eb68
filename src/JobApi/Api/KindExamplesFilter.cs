using JobApi.JobKinds;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace JobApi.Api;

/// <summary>Puts one working submit body per kind into the Swagger UI's example list of <c>POST /v1/jobs</c>.</summary>
public sealed class KindExamplesFilter(JobKindRegistry kinds) : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (context.ApiDescription.HttpMethod != "POST" || context.ApiDescription.RelativePath != "v1/jobs") return;
        if (operation.RequestBody?.Content is not { } content || !content.TryGetValue("application/json", out var found)
            || found is not OpenApiMediaType media) return;
        media.Examples ??= new Dictionary<string, IOpenApiExample>();
        foreach (var kind in kinds.All)
            media.Examples[kind.Name] = new OpenApiExample { Summary = kind.Description, Value = kind.Example.DeepClone() };
    }
}
