using System.Text.Json;

namespace JobApi.IntegrationTests;

/// <summary>GET /v1/jobs/{id}/shards and GET /v1/jobs: paging that covers everything exactly once, filters.</summary>
[Collection(RedisCollection.Name)]
public sealed class ShardsAndListTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private async Task<List<JsonElement>> AllPagesAsync(string path, int limit, List<string>? cursors = null)
    {
        var items = new List<JsonElement>();
        string? cursor = null;
        for (var page = 0; page < 10_000; page++)
        {
            var separator = path.Contains('?') ? '&' : '?';
            var url = $"{path}{separator}limit={limit}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var body = await Client.GetJsonAsync(url);
            var pageItems = body.GetProperty("items").EnumerateArray().ToList();
            Assert.True(pageItems.Count <= limit, $"a page of {pageItems.Count} items with limit {limit}");
            items.AddRange(pageItems);
            var next = body.GetProperty("nextCursor");
            if (next.ValueKind == JsonValueKind.Null) return items;
            cursor = next.GetString()!;
            cursors?.Add(cursor);
        }
        throw new InvalidOperationException("paging did not end");
    }

    [Fact]
    public async Task Shard_pages_cover_every_shard_exactly_once_in_index_order()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 53 });
        await Client.WaitForFinalAsync(job.Id());

        foreach (var limit in new[] { 1, 7, 53, 100 })
        {
            var shards = await AllPagesAsync($"/v1/jobs/{job.Id()}/shards", limit);
            Assert.Equal(Enumerable.Range(0, 53), shards.Select(s => s.GetProperty("index").GetInt32()));
        }
        var all = await AllPagesAsync($"/v1/jobs/{job.Id()}/shards", 1000);
        foreach (var shard in all)
        {
            Assert.Equal("succeeded", shard.GetProperty("state").GetString());
            Assert.True(shard.GetProperty("attempts").GetInt32() >= 1, $"a succeeded shard without attempts: {shard}");
            Assert.False(string.IsNullOrWhiteSpace(shard.GetProperty("worker").GetString()), $"a succeeded shard without a worker: {shard}");
            var started = shard.GetProperty("startedAt").AssertUtc("startedAt");
            var finished = shard.GetProperty("finishedAt").AssertUtc("finishedAt");
            Assert.True(started <= finished, $"shard finished before it started: {shard}");
            Assert.Equal(JsonValueKind.Null, shard.GetProperty("error").ValueKind);
        }
    }

    [Fact]
    public async Task Shards_without_paging_parameters_start_at_index_zero()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 3 });
        var page = await Client.GetJsonAsync($"/v1/jobs/{job.Id()}/shards");
        Assert.Equal([0, 1, 2], page.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("index").GetInt32()));
        Assert.Equal(JsonValueKind.Null, page.GetProperty("nextCursor").ValueKind);
    }

    [Theory]
    [InlineData("cursor=abc")]
    [InlineData("cursor=-1")]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=abc")]
    public async Task Bad_shard_paging_parameters_are_a_400_problem(string query)
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 2 });
        using var response = await Client.GetAsync($"/v1/jobs/{job.Id()}/shards?{query}");
        var problem = await response.AssertProblemAsync(400);
        problem.AssertNamesField(query.Split('=')[0]);
    }

    /// <summary>The list is ordered newest first (by id, which sorts by creation time), without repeats.</summary>
    private static void AssertNewestFirst(IReadOnlyList<string> listed)
    {
        for (var i = 1; i < listed.Count; i++)
            Assert.True(string.CompareOrdinal(listed[i - 1], listed[i]) > 0, $"not newest first at {i}: {string.Join(", ", listed)}");
    }

    [Fact]
    public async Task The_job_list_is_newest_first_and_its_pages_cover_every_job_once()
    {
        var submitted = new List<string>();
        for (var i = 0; i < 11; i++)
            submitted.Add((await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 } })).Id());
        // Ids order by their millisecond; two submits within the same millisecond order by the random part.
        submitted.Sort((a, b) => string.CompareOrdinal(b, a));

        foreach (var limit in new[] { 1, 3, 11, 1000 })
        {
            var listed = (await AllPagesAsync("/v1/jobs", limit)).Select(j => j.Id()).ToList();
            AssertNewestFirst(listed);
            Assert.Equal(submitted, listed.Where(submitted.Contains));
        }
    }

    [Fact]
    public async Task The_job_list_shows_job_statuses()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 2 });
        await Client.WaitForFinalAsync(job.Id());
        var items = (await Client.GetJsonAsync("/v1/jobs?limit=1000")).GetProperty("items").EnumerateArray();
        var item = Assert.Single(items, i => i.Id() == job.Id());
        Assert.Equal("succeeded", item.State());
        Assert.Equal("noop", item.GetProperty("kind").GetString());
        Assert.Equal(2, item.GetProperty("shards").GetProperty("total").GetInt32());
        Assert.Equal(1.0, item.GetProperty("progress").GetDouble());
        item.GetProperty("createdAt").AssertUtc("createdAt");
        item.GetProperty("finishedAt").AssertUtc("finishedAt");
    }

    [Fact]
    public async Task The_job_list_filters_by_state_and_kind_and_pages_within_the_filter()
    {
        var noops = new List<string>();
        var primes = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            noops.Add((await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 } })).Id());
            primes.Add((await Client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 1000 } })).Id());
        }
        var canceled = (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 60_000 } })).Id();
        (await Client.PostAsync($"/v1/jobs/{canceled}/cancel", null)).Dispose();
        foreach (var id in noops.Concat(primes)) Assert.Equal("succeeded", (await Client.WaitForFinalAsync(id)).State());
        var ours = noops.Concat(primes).Append(canceled).ToHashSet();

        // Each filtered listing: only matching jobs, newest first, and exactly our matching jobs among ours.
        async Task AssertListing(string query, int limit, Func<JsonElement, bool> matches, IEnumerable<string> expected)
        {
            var items = await AllPagesAsync($"/v1/jobs?{query}", limit);
            foreach (var item in items) Assert.True(matches(item), $"?{query} listed {item}");
            var ids = items.Select(j => j.Id()).ToList();
            AssertNewestFirst(ids);
            Assert.Equal(expected.OrderDescending(StringComparer.Ordinal), ids.Where(ours.Contains));
        }
        static bool Kind(JsonElement j, string kind) => j.GetProperty("kind").GetString() == kind;

        await AssertListing("kind=primes", 3, j => Kind(j, "primes"), primes);
        await AssertListing("kind=noop", 2, j => Kind(j, "noop"), noops.Append(canceled));
        await AssertListing("state=canceled", 1, j => j.State() == "canceled", [canceled]);
        await AssertListing("state=succeeded&kind=noop", 3, j => j.State() == "succeeded" && Kind(j, "noop"), noops);
        await AssertListing("state=succeeded", 5, j => j.State() == "succeeded", noops.Concat(primes));
        await AssertListing("state=failed", 10, j => j.State() == "failed", []);
        await AssertListing("state=running&kind=wordcount", 10, j => j.State() == "running" && Kind(j, "wordcount"), []);
    }

    [Theory]
    [InlineData("state=bogus", "state")]
    [InlineData("state=Succeeded", "state")]
    [InlineData("kind=bogus", "kind")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=abc", "limit")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    public async Task A_bad_list_filter_is_a_400_problem_naming_it(string query, string field)
    {
        using var response = await Client.GetAsync($"/v1/jobs?{query}");
        var problem = await response.AssertProblemAsync(400);
        problem.AssertNamesField(field);
    }
}
