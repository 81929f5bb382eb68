using System.Text;
using System.Text.Json;

namespace JobApi.IntegrationTests;

/// <summary>GET /v1/kinds describes every kind, and each kind's example is a submit body that works as is.</summary>
[Collection(RedisCollection.Name)]
public sealed class KindsEndpointTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private async Task<Dictionary<string, JsonElement>> KindsAsync()
    {
        using var response = await Client.GetAsync("/v1/kinds");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.ReadJsonAsync();
        Assert.Equal(JsonValueKind.Array, body.ValueKind);
        return body.EnumerateArray().ToDictionary(k => k.GetProperty("name").GetString()!);
    }

    [Fact]
    public async Task Kinds_lists_primes_wordcount_and_noop_with_a_description_an_input_schema_and_an_example()
    {
        var kinds = await KindsAsync();
        foreach (var name in new[] { "primes", "wordcount", "noop" })
        {
            Assert.True(kinds.TryGetValue(name, out var kind), $"{name} is not listed: {string.Join(", ", kinds.Keys)}");
            Assert.False(string.IsNullOrWhiteSpace(kind.GetProperty("description").GetString()), $"{name} has no description");
            var schema = kind.GetProperty("inputSchema");
            Assert.Equal("object", schema.GetProperty("type").GetString());
            Assert.Equal(JsonValueKind.Object, schema.GetProperty("properties").ValueKind);
            var example = kind.GetProperty("example");
            Assert.Equal(name, example.GetProperty("kind").GetString());
            Assert.Equal(JsonValueKind.Object, example.GetProperty("input").ValueKind);
        }
        Assert.Equal(["from", "to"], kinds["primes"].GetProperty("inputSchema").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact]
    public async Task Every_kinds_example_posted_as_is_is_accepted_and_succeeds()
    {
        var kinds = await KindsAsync();
        var jobs = new Dictionary<string, (string Id, JsonElement Example)>();
        foreach (var (name, kind) in kinds)
        {
            var example = kind.GetProperty("example");
            using var response = await Client.PostJobBytesAsync(Encoding.UTF8.GetBytes(example.GetRawText()), "application/json");
            Assert.True((int)response.StatusCode == 202, $"the example of {name} got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            jobs[name] = ((await response.ReadJsonAsync()).Id(), example);
        }
        foreach (var (name, (id, example)) in jobs)
        {
            var result = await Client.ResultAsync(id);
            var input = example.GetProperty("input");
            switch (name)
            {
                case "primes":
                    var (count, sum) = Oracles.PrimesByTrialDivision(input.GetProperty("from").GetInt64(), input.GetProperty("to").GetInt64());
                    Assert.Equal(count, result.GetProperty("count").GetInt64());
                    Assert.Equal(sum, System.Numerics.BigInteger.Parse(result.GetProperty("sum").GetRawText()));
                    break;
                case "wordcount":
                    var documents = input.TryGetProperty("documents", out var d)
                        ? d.EnumerateArray().Select(e => e.GetString()!).ToArray()
                        : [input.GetProperty("text").GetString()!];
                    var top = input.TryGetProperty("top", out var t) ? t.GetInt32() : 10;
                    Oracles.AssertWordCount(Oracles.GnuWordCount(documents), top, result, "the example");
                    break;
                case "montecarlo": // the example integrates 3x² + xy over the unit square: 1.25
                    Assert.InRange(result.GetProperty("estimate").GetDouble() - 1.25, -5 * result.GetProperty("standardError").GetDouble(),
                        5 * result.GetProperty("standardError").GetDouble());
                    Assert.Equal(input.GetProperty("samples").GetInt64(), result.GetProperty("samples").GetInt64());
                    break;
                case "noop":
                    var shards = example.TryGetProperty("shards", out var s) ? s.GetInt32() : 1;
                    Assert.Equal(shards, result.GetProperty("shards").GetInt32());
                    break;
            }
        }
    }
}
