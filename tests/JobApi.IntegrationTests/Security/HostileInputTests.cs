using System.Net;
using System.Text;

namespace JobApi.IntegrationTests.Security;

/// <summary>Hostile requests get a 4xx problem that names the limit, are not read past the limit, and create nothing.</summary>
[Collection(RedisCollection.Name)]
public sealed class HostileInputTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, new Dictionary<string, string?> { ["JobApi:Limits:MaxStringLength"] = "1000", ["JobApi:Limits:MaxWaitSeconds"] = "5" })
{
    public static TheoryData<string, string, string> OverLimits() => new()
    {
        // body, the field named, the text the message must hold
        { """{ "kind": "noop", "input": {}, "shards": 1000000 }""", "shards", "JobApi:Limits:MaxShards" },
        { $$"""{ "kind": "wordcount", "input": { "text": "{{new string('x', 1001)}}" } }""", "input.text", "JobApi:Limits:MaxStringLength" },
        { $$"""{ "kind": "wordcount", "input": { "documents": ["a", "{{new string('x', 1001)}}"] } }""", "input.documents[1]", "JobApi:Limits:MaxStringLength" },
        { """{ "kind": "noop", "input": {}, "shards": 1e6 }""", "shards", "" },
        { """{ "kind": "noop", "input": {}, "shards": 99999999999999999999999999999 }""", "shards", "" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 1e308 } }""", "input.to", "" },
        { """{ "kind": "primes", "input": { "from": -9223372036854775808, "to": 10 } }""", "input.from", "" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 18446744073709551616 } }""", "input.to", "" },
        { """{ "kind": "noop", "input": { "sleepMs": -2147483648 } }""", "input.sleepMs", "" },
        { """{ "kind": "noop", "input": { "sleepMs": 2147483648 } }""", "input.sleepMs", "" },
        { """{ "kind": "wordcount", "input": { "text": "a", "top": -1 } }""", "input.top", "" },
        { """{ "kind": "noop", "input": {}, "maxAttempts": -1 }""", "maxAttempts", "" },
        { """{ "kind": "noop", "input": {}, "shards": -1 }""", "shards", "" },
    };

    [Theory]
    [MemberData(nameof(OverLimits))]
    public async Task A_value_over_a_limit_is_a_400_problem_naming_the_field_and_the_limit(string body, string field, string limit)
    {
        var before = await SnapshotAsync();
        using var response = await PostJobJsonAsync(body);
        var problem = await response.AssertProblemAsync(400);
        problem.AssertNamesField(field);
        if (limit.Length > 0) Assert.Contains(limit, problem.GetProperty("errors").ToString());
        await AssertNothingCreatedSinceAsync(before);
    }

    [Theory]
    [InlineData("6")]
    [InlineData("-1")]
    [InlineData("99999999999")]
    public async Task WaitSeconds_over_its_limit_is_a_400_problem(string wait)
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { } });
        using var response = await Client.GetAsync($"/v1/jobs/{job.Id()}/result?waitSeconds={wait}");
        var problem = await response.AssertProblemAsync(400);
        problem.AssertNamesField("waitSeconds");
        if (wait == "6") Assert.Contains("JobApi:Limits:MaxWaitSeconds", problem.GetProperty("errors").ToString());
    }

    [Fact]
    public async Task A_deeply_nested_body_is_a_400_problem_without_a_stack_overflow()
    {
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 1_000_000)) + "1" + new string('}', 1_000_000);
        using var response = await PostJobJsonAsync($$"""{ "kind": "noop", "input": {{deep}} }""");
        await response.AssertProblemAsync(400);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/health/live")).StatusCode);
    }
}
