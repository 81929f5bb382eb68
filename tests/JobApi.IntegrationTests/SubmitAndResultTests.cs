using System.Numerics;
using System.Text.Json;

namespace JobApi.IntegrationTests;

/// <summary>Submit → poll → result for every kind, each result checked against an independent oracle.</summary>
[Collection(RedisCollection.Name)]
public sealed class SubmitAndResultTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task Primes_on_random_small_ranges_match_trial_division()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var ranges = new List<(long From, long To, int Shards)>
        {
            (0, 0, 1), (0, 1, 1), (2, 2, 1), (0, 2, 2), (1, 1, 1), (4, 4, 1), (999_983, 999_983, 1), (0, 100, 7), (90, 97, 8),
        };
        for (var i = 0; i < 8; i++)
        {
            long from = random.Next(0, 3_000_000), to = from + random.Next(0, 30_000);
            ranges.Add((from, to, random.Next(1, 40)));
        }

        var jobs = new List<(long From, long To, int Shards, string Id)>();
        foreach (var (from, to, shards) in ranges)
        {
            var job = await Client.SubmitAsync(new { kind = "primes", input = new { from, to }, shards });
            jobs.Add((from, to, shards, job.Id()));
        }
        foreach (var (from, to, shards, id) in jobs)
        {
            var result = await Client.ResultAsync(id);
            var (count, sum) = Oracles.PrimesByTrialDivision(from, to);
            var where = $"primes [{from}, {to}] with {shards} shard(s), seed {seed}: {result}";
            Assert.True(count == result.GetProperty("count").GetInt64(), $"count {count} expected, {where}");
            Assert.True(sum == BigInteger.Parse(result.GetProperty("sum").GetRawText()), $"sum {sum} expected, {where}");
        }
    }

    [Fact]
    public async Task Primes_just_below_the_upper_limit_of_ten_to_the_twelfth_match_trial_division()
    {
        const long to = 1_000_000_000_000, from = to - 3_000;
        var job = await Client.SubmitAsync(new { kind = "primes", input = new { from, to }, shards = 3 });
        var result = await Client.ResultAsync(job.Id());
        var (count, sum) = Oracles.PrimesByTrialDivision(from, to);
        Assert.Equal(count, result.GetProperty("count").GetInt64());
        Assert.Equal(sum, BigInteger.Parse(result.GetProperty("sum").GetRawText()));
    }

    [Fact]
    public async Task Primes_below_ten_million_are_664579_with_the_known_sum()
    {
        var job = await Client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 10_000_000 }, shards = 5 });
        var result = await Client.ResultAsync(job.Id());
        Assert.Equal(664_579, result.GetProperty("count").GetInt64());
        Assert.Equal(3_203_324_994_356L, result.GetProperty("sum").GetInt64());
    }

    [Fact]
    public async Task Wordcount_on_random_ascii_texts_agrees_with_the_gnu_tr_sort_uniq_pipeline()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var cases = new List<(object Input, string[] Documents, int Top, int? Shards)>();
        for (var i = 0; i < 4; i++)
        {
            var text = Oracles.RandomAsciiText(random, random.Next(1, 3_000));
            var top = random.Next(1, 60);
            cases.Add((new { text, top }, [text], top, random.Next(1, 30)));
        }
        var documents = Enumerable.Range(0, 6).Select(_ => Oracles.RandomAsciiText(random, random.Next(0, 400))).ToArray();
        cases.Add((new { documents, top = 1000 }, documents, 1000, 4));
        var plain = Oracles.RandomAsciiText(random, 500);
        cases.Add((new { text = plain }, [plain], 10, null)); // default top and shard count

        var jobs = new List<(string Id, string[] Documents, int Top)>();
        foreach (var (input, docs, top, shards) in cases)
        {
            var job = shards is null
                ? await Client.SubmitAsync(new { kind = "wordcount", input })
                : await Client.SubmitAsync(new { kind = "wordcount", input, shards });
            jobs.Add((job.Id(), docs, top));
        }
        foreach (var (id, docs, top) in jobs)
            Oracles.AssertWordCount(Oracles.GnuWordCount(docs), top, await Client.ResultAsync(id), $"seed {seed}");
    }

    [Fact]
    public async Task Wordcount_of_text_without_words_is_zero_with_an_empty_top()
    {
        var job = await Client.SubmitAsync(new { kind = "wordcount", input = new { text = " ,.;\n\t-- " }, shards = 2 });
        var result = await Client.ResultAsync(job.Id());
        Assert.Equal(0, result.GetProperty("totalWords").GetInt64());
        Assert.Equal(0, result.GetProperty("distinctWords").GetInt64());
        Assert.Equal(0, result.GetProperty("top").GetArrayLength());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public async Task Noop_returns_its_shard_count(int shards)
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards });
        var result = await Client.ResultAsync(job.Id());
        Assert.Equal(JsonValueKind.Object, result.ValueKind);
        Assert.Equal(shards, result.GetProperty("shards").GetInt32());
        Assert.Single(result.EnumerateObject());
    }

    [Fact]
    public async Task Noop_without_a_shard_count_runs_one_shard()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { } });
        Assert.Equal(1, (await Client.ResultAsync(job.Id())).GetProperty("shards").GetInt32());
    }

    [Fact]
    public async Task Result_names_the_job_and_its_kind_beside_the_result()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 2 });
        await Client.WaitForFinalAsync(job.Id());
        using var response = await Client.GetAsync($"/v1/jobs/{job.Id()}/result");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.ReadJsonAsync();
        Assert.Equal(job.Id(), body.GetProperty("id").GetString());
        Assert.Equal("noop", body.GetProperty("kind").GetString());
        Assert.Equal(2, body.GetProperty("result").GetProperty("shards").GetInt32());
    }

    [Fact]
    public async Task Submit_answers_202_with_a_location_and_the_job_status()
    {
        using var response = await Client.PostAsync("/v1/jobs",
            new StringContent("""{ "kind": "noop", "input": { "sleepMs": 0 }, "shards": 3 }""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(202, (int)response.StatusCode);
        var status = await response.ReadJsonAsync();
        var id = status.Id();
        Assert.False(string.IsNullOrWhiteSpace(id));
        Assert.Equal($"/v1/jobs/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("noop", status.GetProperty("kind").GetString());
        Assert.Contains(status.State(), new[] { "queued", "running", "succeeded" });
        Assert.Equal(3, status.GetProperty("shards").GetProperty("total").GetInt32());
        var created = status.GetProperty("createdAt").AssertUtc("createdAt");
        Assert.InRange(created, DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(5));

        // The Location answers with the same job.
        var again = await Client.GetJsonAsync(response.Headers.Location!.OriginalString);
        Assert.Equal(id, again.Id());
    }

    [Fact]
    public async Task A_succeeded_job_shows_all_shards_succeeded_progress_one_and_utc_timestamps()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 5 });
        var status = await Client.WaitForFinalAsync(job.Id());

        var names = status.EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var name in new[] { "id", "kind", "state", "shards", "progress", "attempts", "createdAt", "startedAt", "finishedAt", "error" })
            Assert.Contains(name, names);
        Assert.Equal("succeeded", status.State());
        var shards = status.GetProperty("shards");
        Assert.Equal(5, shards.GetProperty("total").GetInt32());
        Assert.Equal(5, shards.GetProperty("succeeded").GetInt32());
        Assert.Equal(0, shards.GetProperty("queued").GetInt32());
        Assert.Equal(0, shards.GetProperty("running").GetInt32());
        Assert.Equal(0, shards.GetProperty("failed").GetInt32());
        Assert.Equal(1.0, status.GetProperty("progress").GetDouble());
        Assert.True(status.GetProperty("attempts").GetInt64() >= 5, $"attempts below the shard count: {status}");
        var created = status.GetProperty("createdAt").AssertUtc("createdAt");
        var started = status.GetProperty("startedAt").AssertUtc("startedAt");
        var finished = status.GetProperty("finishedAt").AssertUtc("finishedAt");
        Assert.True(created <= started && started <= finished, $"timestamps out of order: {status}");
        Assert.Equal(JsonValueKind.Null, status.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task A_shard_that_fails_fewer_times_than_maxAttempts_is_retried_and_the_job_succeeds()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 2 }, shards = 3, maxAttempts = 3 });
        Assert.Equal(3, (await Client.ResultAsync(job.Id())).GetProperty("shards").GetInt32());
        var status = await Client.GetJsonAsync($"/v1/jobs/{job.Id()}");
        Assert.Equal(9, status.GetProperty("attempts").GetInt64());
        var shards = (await Client.GetJsonAsync($"/v1/jobs/{job.Id()}/shards")).GetProperty("items").EnumerateArray().ToList();
        Assert.All(shards, s => Assert.Equal(3, s.GetProperty("attempts").GetInt32()));
        Assert.All(shards, s => Assert.Equal("succeeded", s.GetProperty("state").GetString()));
    }

    [Fact]
    public async Task Without_maxAttempts_a_shard_gets_three_attempts_and_then_fails_the_job_naming_it()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0, failTimes = 3 }, shards = 1 });
        var status = await Client.WaitForFinalAsync(job.Id());
        Assert.Equal("failed", status.State());
        Assert.Equal(3, status.GetProperty("attempts").GetInt64());
        Assert.Equal(1, status.GetProperty("shards").GetProperty("failed").GetInt32());
        Assert.Equal(1.0, status.GetProperty("progress").GetDouble());
        status.GetProperty("finishedAt").AssertUtc("finishedAt");
        Assert.Contains("shard 0", status.GetProperty("error").GetString());
        var shard = Assert.Single((await Client.GetJsonAsync($"/v1/jobs/{job.Id()}/shards")).GetProperty("items").EnumerateArray());
        Assert.Equal("failed", shard.GetProperty("state").GetString());
        Assert.Equal(3, shard.GetProperty("attempts").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(shard.GetProperty("error").GetString()), $"a failed shard without an error: {shard}");
    }
}
