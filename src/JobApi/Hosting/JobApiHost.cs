using JobApi.Engine;

namespace JobApi.Hosting;

/// <summary>Builds and runs the service. Another host (the benchmark, an embedding application) can add its
/// own kinds with <c>services.AddJobKind&lt;T&gt;()</c> through the <c>configure</c> callback of <see cref="RunAsync"/>.</summary>
public static class JobApiHost
{
    public static async Task<int> RunAsync(string[] args, Action<IServiceCollection>? configure = null)
    {
        try
        {
            // Configuration is read once, at start. Reloading appsettings on change would watch the content root and
            // every folder under it: with the embedded Redis's append-only file there (data/redis), each write to
            // Redis woke the process's file-watch thread (14 % of a core at 4,000 writes/s). A later
            // --hostBuilder:reloadConfigOnChange=true argument turns it back on.
            var builder = WebApplication.CreateBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
            builder.Configuration.AddServiceAppSettings();
            builder.AddJobEngine();
            builder.AddJobApiTelemetry();
            configure?.Invoke(builder.Services);
            var runsApi = EngineSetup.ReadOptions(builder.Configuration).RunsApi;
            if (runsApi) builder.AddJobApiHttp();
            else builder.Services.AddHealthChecks();

            var app = builder.Build();
            app.Lifetime.ApplicationStopped.Register(() => app.Services.GetService<EmbeddedRedis>()?.Dispose());
            if (runsApi) app.MapJobApiHttp();
            else app.MapHealthChecks("/health/live");
            app.MapPrometheusScrapingEndpoint();
            app.Services.GetRequiredService<Telemetry.JobApiMetrics>(); // every series (and the queue gauge) from the first scrape
            await app.RunAsync();
            return 0;
        }
        catch (StartupException e)
        {
            Console.Error.WriteLine($"JobApi cannot start: {e.Message}");
            return 2;
        }
    }
}
