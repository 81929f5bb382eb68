using System.Reflection;
using FluentValidation;
using JobApi.Api;
using JobApi.Options;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace JobApi.Hosting;

/// <summary>Composition of the HTTP side: controllers, problem details, validation, Swagger, health.</summary>
public static class ApiSetup
{
    public const int MaxJsonDepth = 64;

    public static WebApplicationBuilder AddJobApiHttp(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddControllers()
            .AddJsonOptions(o =>
            {
                o.JsonSerializerOptions.MaxDepth = MaxJsonDepth;
                // Unknown fields are an error (a typo must not be ignored), which also rejects invalid UTF-8 in them.
                o.JsonSerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            });
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Type ??= c.ProblemDetails.Status == StatusCodes.Status400BadRequest ? Problems.Validation : null;
            c.ProblemDetails.Extensions.Remove("traceId");
        });
        services.AddExceptionHandler<ApiExceptionHandler>();
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) =>
            member is null ? null : char.ToLowerInvariant(member.Name[0]) + member.Name[1..];
        services.AddValidatorsFromAssemblyContaining<SubmitRequestValidator>(ServiceLifetime.Singleton);
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: ["ready"]);
        services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc("v1", new() { Title = "JobApi", Version = "v1", Description = "Split big computations into shards, run them on workers under leases, read the merged result." });
            o.IncludeXmlComments(Path.Combine(AppContext.BaseDirectory, $"{Assembly.GetExecutingAssembly().GetName().Name}.xml"));
            o.OperationFilter<KindExamplesFilter>();
            o.OperationFilter<RawUploadFilter>();
        });
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = ReadLimits(builder.Configuration).MaxBodyBytes);
        return builder;
    }

    public static WebApplication MapJobApiHttp(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<BodySizeLimit>();
        app.UseSwagger();
        app.UseSwaggerUI(o => o.SwaggerEndpoint("/swagger/v1/swagger.json", "JobApi v1"));
        app.MapControllers();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        return app;
    }

    private static LimitsOptions ReadLimits(IConfiguration configuration) =>
        configuration.GetSection($"{JobApiOptions.Section}:Limits").Get<LimitsOptions>() ?? new LimitsOptions();
}

/// <summary>Refuses a declared body over <c>JobApi:Limits:MaxBodyBytes</c> before reading it (413 problem);
/// Kestrel's own limit stops undeclared (chunked) bodies at the same size. Uploads to <c>POST /v1/inputs</c>
/// are exempt: that action lifts Kestrel's limit and enforces <c>JobApi:Limits:MaxInputBytes</c> itself.</summary>
public sealed class BodySizeLimit(RequestDelegate next, IOptions<JobApiOptions> options, IProblemDetailsService problems)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var max = options.Value.Limits.MaxBodyBytes;
        var isUpload = HttpMethods.IsPost(context.Request.Method) && context.Request.Path.Equals("/v1/inputs", StringComparison.OrdinalIgnoreCase);
        if (!isUpload && context.Request.ContentLength > max)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Type = Problems.TooLarge, Title = "Request body too large", Status = StatusCodes.Status413PayloadTooLarge,
                    Detail = $"The body has {context.Request.ContentLength} bytes; the limit (JobApi:Limits:MaxBodyBytes) is {max}.",
                },
            });
            return;
        }
        await next(context);
    }
}
