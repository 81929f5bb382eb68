using System.Globalization;
using Microsoft.Playwright;

namespace JobApi.IntegrationTests.Dashboard;

/// <summary>The dashboard in a real browser (headless chromium): jobs submitted over the API show up and
/// move live on the page. With UPDATE_SCREENSHOT=1 the job list is saved as docs/dashboard.png.</summary>
[Collection(RedisCollection.Name)]
public sealed class DashboardBrowserTests(RedisServerFixture redis, BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private async Task<IPage> OpenAsync(string hash = "")
    {
        var browser = await fixture.StartAsync(redis);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1360, Height = 820 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(new Uri(fixture.BaseAddress, "/dashboard" + hash).ToString());
        return page;
    }

    [Fact]
    public async Task A_running_job_appears_with_its_full_id_and_its_progress_bar_moves_live_to_100_percent()
    {
        await fixture.StartAsync(redis);
        await fixture.Client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 2_000_000 }, shards = 8 });
        var page = await OpenAsync();
        await page.Locator("#jobs tr").First.WaitForAsync();
        // Submitted once the page is up: it appears at the list's next refresh (every 3 s) while it still runs
        // (32 shards of 600 ms on 4 slots take at least 4.8 s), then moves through its events stream.
        var job = await fixture.Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 600 }, shards = 32 });
        var bar = page.Locator($"tr[data-job='{job.Id()}'] [data-testid=progress]");
        await bar.WaitForAsync();
        Assert.Equal(job.Id(), await page.Locator($"tr[data-job='{job.Id()}'] td.id").InnerTextAsync());

        var seen = new SortedSet<double>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await bar.GetAttributeAsync("data-state") != "succeeded")
        {
            seen.Add(double.Parse(await bar.GetAttributeAsync("data-progress") ?? "0", CultureInfo.InvariantCulture));
            if (seen.Count == 3 && Environment.GetEnvironmentVariable("UPDATE_SCREENSHOT") == "1")
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepositoryRoot(), "docs", "dashboard.png") });
            Assert.True(DateTime.UtcNow < deadline, $"the bar did not reach succeeded; progress seen: {string.Join(", ", seen)}");
            await Task.Delay(50);
        }
        Assert.Equal("1", await bar.GetAttributeAsync("data-progress"));
        Assert.Contains(seen, p => p is > 0 and < 1); // it moved on the page, not only at the end
        Assert.Equal("succeeded", await page.Locator($"tr[data-job='{job.Id()}'] [data-testid=state]").InnerTextAsync());
    }

    [Fact]
    public async Task The_job_page_shows_the_shard_map_and_the_dead_letters_of_a_failed_job()
    {
        await fixture.StartAsync(redis);
        var job = await fixture.Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 9 }, shards = 3, maxAttempts = 2 });
        var page = await OpenAsync($"#/jobs/{job.Id()}");
        Assert.Equal(job.Id(), await page.Locator("[data-testid=job-id]").InnerTextAsync());
        await page.Locator("#summary [data-testid=state]:text('failed')").WaitForAsync();
        await page.Locator("[data-testid=dead-letters] tbody tr").First.WaitForAsync();
        var dead = await page.Locator("[data-testid=dead-letters] tbody tr").AllInnerTextsAsync();
        Assert.All(dead, row => Assert.Contains("planned failure", row));
        Assert.Equal(3, await page.Locator("[data-testid=shardmap] .cell").CountAsync());
        Assert.True(await page.Locator("[data-testid=shardmap] .cell[data-state=failed]").CountAsync() >= 1);
        Assert.Contains("failed after 2 attempt(s)", await page.Locator("[data-testid=job-error]").InnerTextAsync());
    }

    [Fact]
    public async Task The_job_page_fills_the_shard_map_as_shards_succeed()
    {
        await fixture.StartAsync(redis);
        var job = await fixture.Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 300 }, shards = 16 });
        var page = await OpenAsync($"#/jobs/{job.Id()}");
        await page.Locator("#summary [data-testid=state]:text('succeeded')").WaitForAsync(new() { Timeout = 60_000 });
        await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-testid=shardmap] .cell[data-state=succeeded]').length === 16");
        Assert.Equal("1", await page.Locator("#summary [data-testid=progress]").GetAttributeAsync("data-progress"));
    }

    [Fact]
    public async Task The_workers_page_lists_the_live_worker()
    {
        var page = await OpenAsync("#/workers");
        var row = page.Locator($"tr[data-worker='{Environment.MachineName}:{Environment.ProcessId}']");
        await row.WaitForAsync();
        Assert.Contains(Environment.MachineName, await row.InnerTextAsync());
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "JobApi.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("JobApi.sln not found above the test binaries.");
    }
}
