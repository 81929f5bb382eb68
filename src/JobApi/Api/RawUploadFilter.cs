using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace JobApi.Api;

/// <summary>Describes the raw request body of <c>POST /v1/inputs</c>, which the action reads as a stream
/// (so no model binding shows it), letting the Swagger UI offer a file upload.</summary>
public sealed class RawUploadFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (context.ApiDescription.HttpMethod != "POST" || context.ApiDescription.RelativePath != "v1/inputs") return;
        var schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" };
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = "The raw input bytes (text for the line- and word-oriented kinds).",
            Content = new Dictionary<string, IOpenApiMediaType>
            {
                ["application/octet-stream"] = new OpenApiMediaType { Schema = schema },
                ["text/plain"] = new OpenApiMediaType { Schema = schema },
            },
        };
    }
}
