namespace JobApi.IntegrationTests;

/// <summary>GET /v1/jobs/{id}/result before and after the end, with and without waitSeconds.</summary>
[Collection(RedisCollection.Name)]
public sealed class ResultTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private async Task<string> SubmitSleepyAsync(int sleepMs) =>
        (await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs }, shards = 1 })).Id();

    private async Task CancelAsync(string id) => (await Client.PostAsync($"/v1/jobs/{id}/cancel", null)).Dispose();

    [Fact]
    public async Task The_result_before_the_job_ends_is_a_409_problem_with_the_state()
    {
        var id = await SubmitSleepyAsync(30_000);
        using var response = await Client.GetAsync($"/v1/jobs/{id}/result");
        var problem = await response.AssertProblemAsync(409);
        Assert.Contains(problem.GetProperty("state").GetString(), new[] { "queued", "running" });
        await CancelAsync(id);
    }

    [Fact]
    public async Task WaitSeconds_holds_the_request_until_the_job_ends()
    {
        var id = await SubmitSleepyAsync(500);
        using var response = await Client.GetAsync($"/v1/jobs/{id}/result?waitSeconds=10");
        Assert.Equal(200, (int)response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(id, body.Id());
        Assert.Equal(1, body.GetProperty("result").GetProperty("shards").GetInt32());
    }

    [Fact]
    public async Task WaitSeconds_returns_at_once_when_the_job_is_canceled_meanwhile()
    {
        var id = await SubmitSleepyAsync(60_000);
        var waiting = Client.GetAsync($"/v1/jobs/{id}/result?waitSeconds=60");
        await TestSupport.WaitUntilAsync(async () => (await Client.GetJsonAsync($"/v1/jobs/{id}")).State() == "running", "the job runs");
        await CancelAsync(id);
        using var response = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        var problem = await response.AssertProblemAsync(409);
        Assert.Equal("canceled", problem.GetProperty("state").GetString());
    }

    [Fact]
    public async Task WaitSeconds_running_out_before_the_end_gives_the_same_409()
    {
        var id = await SubmitSleepyAsync(30_000);
        using var response = await Client.GetAsync($"/v1/jobs/{id}/result?waitSeconds=1");
        var problem = await response.AssertProblemAsync(409);
        Assert.Contains(problem.GetProperty("state").GetString(), new[] { "queued", "running" });
        await CancelAsync(id);
    }

    [Fact]
    public async Task WaitSeconds_on_a_finished_job_answers_the_result()
    {
        var id = await SubmitSleepyAsync(0);
        await Client.WaitForFinalAsync(id);
        using var response = await Client.GetAsync($"/v1/jobs/{id}/result?waitSeconds=60");
        Assert.Equal(200, (int)response.StatusCode);
    }

    [Theory]
    [InlineData("61")]
    [InlineData("-1")]
    [InlineData("1000000000000")]
    [InlineData("abc")]
    public async Task WaitSeconds_out_of_range_or_not_a_number_is_a_400_problem_naming_it(string waitSeconds)
    {
        var id = await SubmitSleepyAsync(0);
        using var response = await Client.GetAsync($"/v1/jobs/{id}/result?waitSeconds={waitSeconds}");
        var problem = await response.AssertProblemAsync(400);
        problem.AssertNamesField("waitSeconds");
    }
}
