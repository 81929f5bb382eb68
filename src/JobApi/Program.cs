using JobApi.Hosting;

return await JobApiHost.RunAsync(args);

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
