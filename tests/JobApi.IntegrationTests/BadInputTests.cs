using System.Text;

namespace JobApi.IntegrationTests;

/// <summary>Bad input gets the right 4xx problem, names the field where there is one, and creates nothing
/// (no job, job index entry or idempotency record appears).</summary>
[Collection(RedisCollection.Name)]
public sealed class BadInputTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    public static TheoryData<string, string> InvalidBodies() => new()
    {
        // body, the field the errors must name
        { """{ "kind": "nope", "input": {} }""", "kind" },
        { """{ "kind": "", "input": {} }""", "kind" },
        { """{ "input": { "sleepMs": 0 } }""", "kind" },
        { """{ "kind": "Primes", "input": { "from": 0, "to": 10 } }""", "kind" },
        { """{ "kind": "primes" }""", "input" },
        { """{ "kind": "primes", "input": [0, 10] }""", "input" },
        { """{ "kind": "primes", "input": null }""", "input" },
        { """{ "kind": "primes", "input": { "from": 10, "to": 9 } }""", "input.to" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 1000000000001 } }""", "input.to" },
        { """{ "kind": "primes", "input": { "from": -1, "to": 10 } }""", "input.from" },
        { """{ "kind": "primes", "input": { "to": 10 } }""", "input.from" },
        { """{ "kind": "primes", "input": { "from": "abc", "to": 10 } }""", "input.from" },
        { """{ "kind": "primes", "input": { "from": "0", "to": 10 } }""", "input.from" },
        { """{ "kind": "primes", "input": { "from": 0.5, "to": 10 } }""", "input.from" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 1e400 } }""", "input.to" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 99999999999999999999999 } }""", "input.to" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 10, "step": 2 } }""", "input.step" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 10 }, "shards": 0 }""", "shards" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 10 }, "shards": 100001 }""", "shards" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 10 }, "shards": -5 }""", "shards" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 10 }, "shards": 10000000000 }""", "shards" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 10 }, "shards": "abc" }""", "shards" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 10 }, "maxAttempts": 0 }""", "maxAttempts" },
        { """{ "kind": "primes", "input": { "from": 0, "to": 10 }, "maxAttempts": 21 }""", "maxAttempts" },
        { """{ "kind": "noop", "input": { "sleepMs": 60001 } }""", "input.sleepMs" },
        { """{ "kind": "noop", "input": { "sleepMs": -1 } }""", "input.sleepMs" },
        { """{ "kind": "noop", "input": { "failTimes": 21 } }""", "input.failTimes" },
        { """{ "kind": "wordcount", "input": {} }""", "input.text" },
        { """{ "kind": "wordcount", "input": { "text": "a", "documents": ["b"] } }""", "input.text" },
        { """{ "kind": "wordcount", "input": { "text": 42 } }""", "input.text" },
        { """{ "kind": "wordcount", "input": { "text": "a b", "top": 0 } }""", "input.top" },
        { """{ "kind": "wordcount", "input": { "text": "a b", "top": 1001 } }""", "input.top" },
        { """{ "kind": "montecarlo", "input": { "samples": -1, "lo": [0, 0], "hi": [1, 1], "integrand": { "family": "ball", "radius": 1 } } }""", "input.samples" },
        { """{ "kind": "montecarlo", "input": { "samples": 1000000000001, "lo": [0, 0], "hi": [1, 1], "integrand": { "family": "ball", "radius": 1 } } }""", "input.samples" },
        { """{ "kind": "montecarlo", "input": { "samples": 100, "lo": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], "hi": [1], "integrand": { "family": "ball", "radius": 1 } } }""", "input.lo" },
        { """{ "kind": "montecarlo", "input": { "samples": 100, "lo": [0, 2], "hi": [1, 1], "integrand": { "family": "ball", "radius": 1 } } }""", "input.hi[1]" },
        { """{ "kind": "montecarlo", "input": { "samples": 100, "lo": [0, 0], "hi": [1, 1], "integrand": { "family": "sin", "radius": 1 } } }""", "input.integrand.family" },
        { """{ "kind": "montecarlo", "input": { "samples": 100, "lo": [0], "hi": [1], "integrand": { "family": "polynomial", "terms": [{ "coef": 1, "powers": [1, 1] }] } } }""", "input.integrand.terms[0].powers" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task An_invalid_submit_is_a_400_problem_naming_the_field_and_creates_nothing(string body, string field)
    {
        var before = await SnapshotAsync();
        using var response = await PostJobJsonAsync(body, idempotencyKey: "same-key-for-every-bad-request");
        var problem = await response.AssertProblemAsync(400);
        problem.AssertNamesField(field);
        await AssertNothingCreatedSinceAsync(before);
    }

    public static TheoryData<string> MalformedJson() => new()
    {
        "",
        "{",
        """{ "kind": "noop", "input": { "sleepMs": 0 }""",
        """{ "kind": "noop", "input": { "sleepMs": 0 } } trailing""",
        """{ 'kind': 'noop' }""",
        """{ "kind": "noop", "input": { "sleepMs": 0, } }""",
        "[]",
        "null",
        "42",
        "\"noop\"",
    };

    [Theory]
    [MemberData(nameof(MalformedJson))]
    public async Task A_body_that_is_not_a_json_object_is_a_400_problem_and_creates_nothing(string body)
    {
        var before = await SnapshotAsync();
        using var response = await PostJobJsonAsync(body);
        await response.AssertProblemAsync(400);
        await AssertNothingCreatedSinceAsync(before);
    }

    [Theory]
    [InlineData(65)]
    [InlineData(100)]
    [InlineData(100_000)]
    public async Task Json_nested_deeper_than_64_levels_is_a_400_problem(int depth)
    {
        var before = await SnapshotAsync();
        var deep = new string('[', depth) + new string(']', depth);
        using var response = await PostJobJsonAsync($$"""{ "kind": "noop", "input": { "sleepMs": 0, "deep": {{deep}} } }""");
        await response.AssertProblemAsync(400);
        await AssertNothingCreatedSinceAsync(before);
    }

    [Fact]
    public async Task Json_nested_deeper_than_64_levels_in_the_envelope_is_a_400_problem()
    {
        var before = await SnapshotAsync();
        var deep = string.Concat(Enumerable.Repeat("""{ "a": """, 70)) + "1" + new string('}', 70);
        using var response = await PostJobJsonAsync($$"""{ "kind": "noop", "input": { "sleepMs": 0 }, "extra": {{deep}} }""");
        await response.AssertProblemAsync(400);
        await AssertNothingCreatedSinceAsync(before);
    }

    public static TheoryData<string, string> InvalidUtf8() => new()
    {
        // where the bad bytes stand (replacing the marker "@@"), and the body
        { "kind", """{ "kind": "no@@op", "input": { "sleepMs": 0 } }""" },
        { "wordcount text", """{ "kind": "wordcount", "input": { "text": "caf@@ au lait" } }""" },
        { "noop property name", """{ "kind": "noop", "input": { "sle@@epMs": 0 } }""" },
        { "unknown envelope field", """{ "kind": "noop", "input": { "sleepMs": 0 }, "note": "@@" }""" },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public async Task Invalid_utf8_is_a_400_problem_and_creates_nothing(string where, string template)
    {
        var before = await SnapshotAsync();
        foreach (var bad in new byte[][] { [0xFF], [0xC3], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF] })
        {
            var parts = template.Split("@@");
            var body = Encoding.UTF8.GetBytes(parts[0]).Concat(bad).Concat(Encoding.UTF8.GetBytes(parts[1])).ToArray();
            using var response = await Client.PostJobBytesAsync(body, "application/json");
            Assert.True((int)response.StatusCode == 400,
                $"invalid UTF-8 {Convert.ToHexString(bad)} in the {where}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await response.AssertProblemAsync(400);
        }
        await AssertNothingCreatedSinceAsync(before);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task A_body_that_is_not_json_is_a_415_problem_and_creates_nothing(string mediaType)
    {
        var before = await SnapshotAsync();
        using var response = await Client.PostJobBytesAsync(
            Encoding.UTF8.GetBytes("""{ "kind": "noop", "input": { "sleepMs": 0 } }"""), mediaType);
        await response.AssertProblemAsync(415);
        await AssertNothingCreatedSinceAsync(before);
    }

    [Fact]
    public async Task A_body_without_a_content_type_is_a_415_problem()
    {
        var before = await SnapshotAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{ "kind": "noop", "input": { "sleepMs": 0 } }"""));
        using var response = await Client.PostAsync("/v1/jobs", content);
        await response.AssertProblemAsync(415);
        await AssertNothingCreatedSinceAsync(before);
    }
}

/// <summary>With <c>JobApi:Limits:MaxBodyBytes</c> at 4,096, a bigger body is a 413 problem; the limit itself passes.</summary>
[Collection(RedisCollection.Name)]
public sealed class BodyLimitTests(RedisServerFixture redis, ServiceFixture service)
    : ApiTest(redis, service, new Dictionary<string, string?> { ["JobApi:Limits:MaxBodyBytes"] = "4096" })
{
    private static byte[] WordcountBody(int bytes)
    {
        var head = """{ "kind": "wordcount", "input": { "text": " """;
        const string tail = "\" } }";
        var body = head + new string('a', bytes - head.Length - tail.Length) + tail;
        Assert.Equal(bytes, Encoding.UTF8.GetByteCount(body));
        return Encoding.UTF8.GetBytes(body);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_a_413_problem_and_creates_nothing()
    {
        var before = await SnapshotAsync();
        using var response = await Client.PostJobBytesAsync(WordcountBody(5000), "application/json");
        await response.AssertProblemAsync(413);
        await AssertNothingCreatedSinceAsync(before);
    }

    [Fact]
    public async Task The_413_is_served_as_application_problem_json()
    {
        using var response = await Client.PostJobBytesAsync(new byte[5000], "application/json");
        Assert.Equal(413, (int)response.StatusCode);
        Assert.Equal(TestSupport.ProblemJson, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_body_of_exactly_the_limit_is_accepted()
    {
        using var response = await Client.PostJobBytesAsync(WordcountBody(4096), "application/json");
        Assert.Equal(202, (int)response.StatusCode);
        var result = await Client.ResultAsync((await response.ReadJsonAsync()).Id());
        Assert.Equal(1, result.GetProperty("totalWords").GetInt64());
    }
}
