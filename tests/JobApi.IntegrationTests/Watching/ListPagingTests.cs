using System.Text.Json;

namespace JobApi.IntegrationTests.Watching;

/// <summary>GET /v1/jobs paging while jobs keep arriving: the cursor is a position in the id order (creation
/// time), so new jobs never shift the pages of a listing already under way.</summary>
[Collection(RedisCollection.Name)]
public sealed class ListPagingTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task Paging_while_jobs_are_added_returns_every_earlier_job_exactly_once_newest_first()
    {
        var before = new List<string>();
        for (var i = 0; i < 40; i++) before.Add((await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 1 })).Id());

        var listed = new List<string>();
        string? cursor = null;
        var added = 0;
        do
        {
            var page = await Client.GetJsonAsync("/v1/jobs?limit=7" + (cursor is null ? "" : $"&cursor={cursor}"));
            listed.AddRange(page.GetProperty("items").EnumerateArray().Select(j => j.Id()));
            cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextCursor").GetString();
            // Between two pages, more jobs arrive (they sort before the cursor, so they do not disturb the listing).
            for (var i = 0; i < 3; i++, added++) await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 1 });
        }
        while (cursor is not null);

        Assert.True(added > 0);
        Assert.Equal(listed.Count, listed.Distinct().Count());
        Assert.Equal(listed.OrderDescending(StringComparer.Ordinal), listed);
        var earlier = listed.Where(before.Contains).ToList();
        // Ids sort by creation time (jobs made in the same millisecond by their random part).
        Assert.Equal(before.OrderDescending(StringComparer.Ordinal), earlier);
    }

    [Fact]
    public async Task Filters_by_state_and_kind_page_through_matching_jobs_only()
    {
        var failed = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            failed.Add((await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 9 }, shards = 1, maxAttempts = 1 })).Id());
            await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 1 });
        }
        foreach (var id in failed) await Client.WaitForFinalAsync(id);
        var listed = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Client.GetJsonAsync("/v1/jobs?state=failed&kind=noop&limit=2" + (cursor is null ? "" : $"&cursor={cursor}"));
            foreach (var job in page.GetProperty("items").EnumerateArray())
            {
                Assert.Equal("failed", job.State());
                listed.Add(job.Id());
            }
            cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        Assert.Equal(failed.OrderDescending(StringComparer.Ordinal), listed.Where(failed.Contains));
    }
}
