namespace JobApi.IntegrationTests;

/// <summary>Idempotency-Key: a repeated submit returns the same job and never creates a second one.</summary>
[Collection(RedisCollection.Name)]
public sealed class IdempotencyTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private const string Body = """{ "kind": "noop", "input": { "sleepMs": 0 }, "shards": 2 }""";

    [Fact]
    public async Task Same_key_and_same_body_return_the_same_job_and_create_only_one()
    {
        var key = Guid.NewGuid().ToString();
        var before = await JobIdsInRedisAsync();
        using var first = await PostJobJsonAsync(Body, key);
        using var second = await PostJobJsonAsync(Body, key);
        Assert.Equal(202, (int)first.StatusCode);
        Assert.Equal(202, (int)second.StatusCode);
        var id = (await first.ReadJsonAsync()).Id();
        Assert.Equal(id, (await second.ReadJsonAsync()).Id());
        Assert.Equal($"/v1/jobs/{id}", second.Headers.Location?.OriginalString);

        Assert.Equal([id], (await JobIdsInRedisAsync()).Except(before));
        var list = await Client.GetJsonAsync("/v1/jobs?limit=1000");
        Assert.Single(list.GetProperty("items").EnumerateArray(), j => j.Id() == id);
    }

    [Fact]
    public async Task Same_key_after_the_job_finished_still_returns_that_job()
    {
        var key = Guid.NewGuid().ToString();
        using var first = await PostJobJsonAsync(Body, key);
        var id = (await first.ReadJsonAsync()).Id();
        await Client.WaitForFinalAsync(id);
        var before = await SnapshotAsync();

        using var again = await PostJobJsonAsync(Body, key);
        Assert.Equal(202, (int)again.StatusCode);
        var status = await again.ReadJsonAsync();
        Assert.Equal(id, status.Id());
        Assert.Equal("succeeded", status.State());
        await AssertNothingCreatedSinceAsync(before);
    }

    [Fact]
    public async Task Same_key_with_a_different_body_is_a_422_problem_and_creates_nothing()
    {
        var key = Guid.NewGuid().ToString();
        using var first = await PostJobJsonAsync(Body, key);
        Assert.Equal(202, (int)first.StatusCode);
        var before = await SnapshotAsync();

        foreach (var other in new[]
                 {
                     """{ "kind": "noop", "input": { "sleepMs": 1 }, "shards": 2 }""",
                     """{ "kind": "noop", "input": { "sleepMs": 0 }, "shards": 3 }""",
                     """{ "kind": "noop", "input": { "sleepMs": 0 }, "shards": 2, "maxAttempts": 5 }""",
                     """{ "kind": "primes", "input": { "from": 0, "to": 10 }, "shards": 2 }""",
                 })
        {
            using var response = await PostJobJsonAsync(other, key);
            var problem = await response.AssertProblemAsync(422);
            Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()), $"422 without a detail: {problem}");
        }
        await AssertNothingCreatedSinceAsync(before);
    }

    [Fact]
    public async Task Different_keys_with_the_same_body_create_different_jobs()
    {
        var before = await JobIdsInRedisAsync();
        using var a = await PostJobJsonAsync(Body, $"a-{Guid.NewGuid()}");
        using var b = await PostJobJsonAsync(Body, $"b-{Guid.NewGuid()}");
        var ids = new[] { (await a.ReadJsonAsync()).Id(), (await b.ReadJsonAsync()).Id() };
        Assert.NotEqual(ids[0], ids[1]);
        Assert.Equal(ids.Order(StringComparer.Ordinal), (await JobIdsInRedisAsync()).Except(before));
    }

    [Fact]
    public async Task A_key_over_200_characters_is_a_400_problem_naming_the_header_and_creates_nothing()
    {
        var before = await SnapshotAsync();
        using var response = await PostJobJsonAsync(Body, new string('k', 201));
        var problem = await response.AssertProblemAsync(400);
        problem.AssertNamesField("Idempotency-Key");
        await AssertNothingCreatedSinceAsync(before);
    }

    [Fact]
    public async Task A_key_of_exactly_200_characters_is_accepted()
    {
        using var response = await PostJobJsonAsync(Body, Guid.NewGuid().ToString("N") + new string('k', 168));
        Assert.Equal(202, (int)response.StatusCode);
    }

    [Fact]
    public async Task Racing_posts_with_one_key_all_get_2xx_with_the_same_id_and_one_job_exists()
    {
        var key = Guid.NewGuid().ToString();
        var before = await JobIdsInRedisAsync();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racers = Enumerable.Range(0, 40).Select(async _ =>
        {
            await gate.Task;
            using var response = await PostJobJsonAsync(Body, key);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }).ToArray();
        gate.SetResult();
        var answers = await Task.WhenAll(racers);

        Assert.All(answers, a => Assert.True(a.Item1 is >= 200 and < 300, $"a racing submit got {a.Item1}: {a.Item2}"));
        var ids = answers.Select(a => System.Text.Json.JsonDocument.Parse(a.Item2).RootElement.GetProperty("id").GetString()).Distinct().ToList();
        Assert.Single(ids);
        Assert.Equal([ids[0]!], (await JobIdsInRedisAsync()).Except(before));
        Assert.Equal("succeeded", (await Client.WaitForFinalAsync(ids[0]!)).State());
        Assert.Equal(2, (await Client.ResultAsync(ids[0]!)).GetProperty("shards").GetInt32());
    }
}
