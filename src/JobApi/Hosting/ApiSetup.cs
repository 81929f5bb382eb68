using System.Reflection;
using FluentValidation;
using JobApi.Api;
using JobApi.Dashboard;
using JobApi.Options;
using JobApi.Security;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace JobApi.Hosting;

/// <summary>Composition of the HTTP side: controllers, problem details, validation, Swagger, health.</summary>
public static class ApiSetup
{
    public static WebApplicationBuilder AddJobApiHttp(this WebApplicationBuilder builder)
    {
        var options = EngineSetup.ReadOptions(builder.Configuration);
        if (ListenAddressGuard.Check(builder.Configuration, options.Auth) is { } notice) Console.WriteLine(notice);
        var services = builder.Services;
        services.AddJobApiAuth(options);
        services.AddJobApiRateLimits(options.Limits);
        services.AddControllers()
            .AddJsonOptions(o =>
            {
                o.JsonSerializerOptions.MaxDepth = options.Limits.MaxJsonDepth;
                // Unknown fields are an error (a typo must not be ignored), which also rejects invalid UTF-8 in them.
                o.JsonSerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            });
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Type ??= c.ProblemDetails.Status == StatusCodes.Status400BadRequest ? Problems.Validation : null;
            c.ProblemDetails.Extensions.Remove("traceId");
        });
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddSingleton<JobEventStream>();
        services.AddSingleton<TenantEventStream>();
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
            o.OperationFilter<SecurityResponsesFilter>();
            o.AddSecurityDefinition("apiKey", new Microsoft.OpenApi.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.SecuritySchemeType.ApiKey, In = Microsoft.OpenApi.ParameterLocation.Header, Name = "X-Api-Key",
                Description = "An API key (JobApi:Auth:ApiKeys); also accepted as 'Authorization: Bearer <key>'. Not needed in open mode.",
            });
            o.AddSecurityRequirement(document => new Microsoft.OpenApi.OpenApiSecurityRequirement
            {
                [new Microsoft.OpenApi.OpenApiSecuritySchemeReference("apiKey", document)] = [],
            });
        });
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.Limits.MaxBodyBytes);
        builder.Services.AddHostedService<JobEventsProbe>();
        return builder;
    }

    public static WebApplication MapJobApiHttp(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<SecurityHeaders>();
        app.UseMiddleware<BodySizeLimit>();
        app.UseSwagger();
        app.UseSwaggerUI(o => o.SwaggerEndpoint("/swagger/v1/swagger.json", "JobApi v1"));
        app.UseRouting();
        app.UseCors();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseMiddleware<TenantResourceGuard>();
        app.MapControllers();
        app.MapDashboard();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).AllowAnonymous();
        return app;
    }
}

/// <summary>Refuses a declared body over <c>JobApi:Limits:MaxBodyBytes</c> before reading it (413 problem);
/// an undeclared (chunked) body is cut off once it passes the limit, by Kestrel's own limit and by a
/// counting stream that works under any server. Uploads to <c>POST /v1/inputs</c> are exempt: that action
/// lifts Kestrel's limit and enforces <c>JobApi:Limits:MaxInputBytes</c> itself.</summary>
public sealed class BodySizeLimit(RequestDelegate next, IOptions<JobApiOptions> options, IProblemDetailsService problems)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var max = options.Value.Limits.MaxBodyBytes;
        var isUpload = HttpMethods.IsPost(context.Request.Method) && context.Request.Path.Equals("/v1/inputs", StringComparison.OrdinalIgnoreCase);
        if (!isUpload && context.Request.ContentLength > max)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            context.Response.Headers.Connection = "close"; // the unread body is not drained: the connection ends with the answer
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
        if (!isUpload && context.Request.ContentLength is null) context.Request.Body = new LimitedReadStream(context.Request.Body, max);
        await next(context);
    }
}
