using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobApi.IntegrationTests;

/// <summary>Configuration is read once, at start: no configuration file is watched, so the process does not wake for
/// every write under its content root (where the embedded Redis keeps its append-only file).</summary>
[Collection(RedisCollection.Name)]
public sealed class ConfigurationReloadTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public void No_configuration_file_reloads_on_change()
    {
        var root = Assert.IsAssignableFrom<IConfigurationRoot>(Factory.Services.GetRequiredService<IConfiguration>());
        var files = root.Providers.OfType<FileConfigurationProvider>().ToList();
        Assert.NotEmpty(files); // appsettings.json (content root and beside the binary)
        Assert.All(files, f => Assert.False(f.Source.ReloadOnChange, $"{f.Source.Path} reloads on change"));
    }
}
