using JobApi.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace JobApi.Hosting;

/// <summary>
/// OpenTelemetry: metrics always (Prometheus text at <c>/metrics</c> on every node, OTLP too when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set); traces (HTTP request → submit → shard → merge) only when an
/// OTLP endpoint is configured, so that without a collector no span is ever created.
/// </summary>
public static class TelemetrySetup
{
    public static WebApplicationBuilder AddJobApiTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<QueueDepthSampler>();
        builder.Services.AddSingleton<JobApiMetrics>();
        builder.Services.AddSingleton<JobApiTracing>();
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("jobapi"))
            .WithMetrics(m =>
            {
                m.AddMeter(JobApiMetrics.MeterName, "System.Runtime");
                m.AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter();
            });
        if (otlp)
        {
            telemetry.WithTracing(t => t
                .AddSource(JobApiTracing.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments("/metrics"))
                .AddOtlpExporter());
        }
        return builder;
    }
}
