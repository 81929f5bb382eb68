using Microsoft.Playwright;

namespace JobApi.IntegrationTests.Dashboard;

/// <summary>
/// The service listening on a real loopback port (Kestrel; a browser cannot reach the in-memory test
/// server) and Debian's chromium driven by Playwright, headless. Playwright never downloads a browser
/// here: it launches <c>/usr/bin/chromium</c> (installed by scripts/ensure-chromium.sh), and a missing
/// chromium fails the tests with a message saying so.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    private JobApiFactory? _factory;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public JobApiFactory Factory => _factory ?? throw new InvalidOperationException("Call StartAsync first.");
    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async Task<IBrowser> StartAsync(RedisServerFixture redis)
    {
        if (_browser is not null) return _browser;
        if (!File.Exists(Chromium))
            throw new InvalidOperationException($"The dashboard's browser tests need Debian's chromium at {Chromium}; run scripts/ensure-chromium.sh (apt-get install chromium).");
        var port = LoopbackPorts.Next();
        _factory = new JobApiFactory(redis);
        _factory.UseKestrel(port);
        _factory.StartServer();
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        Client = new HttpClient { BaseAddress = BaseAddress };
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        return _browser;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        Client?.Dispose();
        if (_factory is not null) await _factory.DisposeAsync();
    }
}
