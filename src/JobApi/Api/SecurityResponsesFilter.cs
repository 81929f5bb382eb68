using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace JobApi.Api;

/// <summary>Documents what every <c>/v1</c> operation can answer besides its own statuses: 401 without a valid
/// API key or token (once keys are configured) and 429 over <c>JobApi:Limits:RequestsPerSecond</c>.</summary>
public sealed class SecurityResponsesFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (context.ApiDescription.RelativePath?.StartsWith("v1/", StringComparison.Ordinal) != true) return;
        operation.Responses ??= new OpenApiResponses();
        var schema = context.SchemaGenerator.GenerateSchema(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), context.SchemaRepository);
        Add(operation, "401", "No valid API key or token (only once API keys or JWT are configured)", schema);
        Add(operation, "429", "Over the request rate (JobApi:Limits:RequestsPerSecond) or a tenant quota; see Retry-After", schema);
    }

    private static void Add(OpenApiOperation operation, string status, string description, IOpenApiSchema schema)
    {
        if (operation.Responses!.ContainsKey(status)) return;
        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, IOpenApiMediaType> { ["application/problem+json"] = new OpenApiMediaType { Schema = schema } },
        };
    }
}
