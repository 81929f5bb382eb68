using JobApi.Engine;
using JobApi.Hosting;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.Configuration.AddServiceAppSettings();
    builder.AddJobEngine();
    var runsApi = EngineSetup.ReadOptions(builder.Configuration).RunsApi;
    if (runsApi) builder.AddJobApiHttp();
    else builder.Services.AddHealthChecks();

    var app = builder.Build();
    app.Lifetime.ApplicationStopped.Register(() => app.Services.GetService<EmbeddedRedis>()?.Dispose());
    if (runsApi) app.MapJobApiHttp();
    else app.MapHealthChecks("/health/live");
    await app.RunAsync();
    return 0;
}
catch (StartupException e)
{
    Console.Error.WriteLine($"JobApi cannot start: {e.Message}");
    return 2;
}

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
