using System.Text.Json.Nodes;
using CsCheck;
using JobApi.JobKinds;
using JobApi.Tests.Fuzz;
using Microsoft.Extensions.DependencyInjection;

namespace JobApi.IntegrationTests.Security;

/// <summary>Property-based fuzzing of <c>POST /v1/jobs</c> over HTTP: generated envelopes with each kind's
/// field names and hostile values, and byte mutations of every kind's example. Every answer is a 2xx or a
/// 4xx problem+json, never a 5xx, and the service stays healthy. An API-only node (jobs stay queued) with
/// small shard and quota caps bounds what accepted jobs can take. JOBAPI_FUZZ_LONG=1 runs 100 times more.</summary>
[Collection(RedisCollection.Name)]
public sealed class SubmitFuzzTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, new Dictionary<string, string?>
    {
        ["JobApi:Roles"] = "Api",
        ["JobApi:Limits:MaxShards"] = "64",
        ["JobApi:Limits:MaxRunningJobsPerTenant"] = "0",
    })
{
    private JobKindRegistry Kinds => Factory.Services.GetRequiredService<JobKindRegistry>();

    private async Task AssertAnswerAsync(byte[] body, string what)
    {
        using var response = await Client.PostJobBytesAsync(body, "application/json", idempotencyKey: null);
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status is >= 200 and < 300 or >= 400 and < 500, $"{status} for {what}: {System.Text.Encoding.UTF8.GetString(body)} → {text}");
        if (status >= 400)
            Assert.True(response.Content.Headers.ContentType?.MediaType == TestSupport.ProblemJson, $"{status} without problem+json for {what}: {text}");
    }

    [Fact]
    public async Task Generated_submit_bodies_get_a_2xx_or_a_4xx_problem_never_a_5xx()
    {
        var kinds = Kinds.All.ToList();
        var names = kinds.SelectMany(k => k.InputSchema["properties"] is JsonObject p ? p.Select(x => x.Key) : []).Distinct().ToArray();
        var kindName = Gen.Frequency((6, HostileJson.Pick(kinds.Select(k => k.Name).ToArray())), (1, HostileJson.Pick("", "Primes", "nope", "noop ", "__proto__")));
        var envelope = Gen.Select(kindName, HostileJson.Object(names, 3), HostileJson.Number, HostileJson.Number, Gen.Int[0, 15])
            .Select((kind, input, shards, attempts, mask) =>
            {
                var members = new List<string>();
                if ((mask & 1) != 0) members.Add($"\"kind\":\"{kind}\"");
                if ((mask & 2) != 0 || mask == 0) members.Add($"\"input\":{input}");
                if ((mask & 4) != 0) members.Add($"\"shards\":{shards}");
                if ((mask & 8) != 0) members.Add($"\"maxAttempts\":{attempts}");
                return "{" + string.Join(",", members) + "}";
            });
        await envelope.SampleAsync(body => AssertAnswerAsync(HostileJson.Utf8(body), "a generated body"),
            iter: HostileJson.Iterations(300), threads: 1);
        Assert.Equal(200, (int)(await Client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Byte_mutations_of_every_kinds_example_get_a_2xx_or_a_4xx_problem_never_a_5xx()
    {
        foreach (var kind in Kinds.All)
        {
            var example = HostileJson.Utf8(kind.Example.ToJsonString());
            await HostileJson.Mutated(example).SampleAsync(body => AssertAnswerAsync(body, $"a mutation of the {kind.Name} example"),
                iter: HostileJson.Iterations(100), threads: 1);
        }
        Assert.Equal(200, (int)(await Client.GetAsync("/health/ready")).StatusCode);
    }
}
