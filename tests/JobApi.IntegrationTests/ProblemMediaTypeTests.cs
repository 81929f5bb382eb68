using System.Text;

namespace JobApi.IntegrationTests;

/// <summary>Every error is <c>application/problem+json</c> (RFC 9457), whichever part of the service produced
/// it: the kind validators, the model binder, the controllers' own checks (the 413 of the body limit is checked in
/// <see cref="BodyLimitTests"/>).</summary>
[Collection(RedisCollection.Name)]
public sealed class ProblemMediaTypeTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private const string UnknownId = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    public static TheoryData<string, string, string?, string?, int> Errors() => new()
    {
        // name, method and path, content type, body, status
        { "invalid kind input", "POST /v1/jobs", "application/json", """{ "kind": "primes", "input": { "from": 2, "to": 1 } }""", 400 },
        { "unknown kind", "POST /v1/jobs", "application/json", """{ "kind": "nope", "input": {} }""", 400 },
        { "malformed JSON", "POST /v1/jobs", "application/json", "{", 400 },
        { "wrong type in the envelope", "POST /v1/jobs", "application/json", """{ "kind": "noop", "input": {}, "shards": "x" }""", 400 },
        { "text/plain body", "POST /v1/jobs", "text/plain", """{ "kind": "noop", "input": {} }""", 415 },
        { "body without a content type", "POST /v1/jobs", null, """{ "kind": "noop", "input": {} }""", 415 },
        { "unknown job", $"GET /v1/jobs/{UnknownId}", null, null, 404 },
        { "unknown job's result", $"GET /v1/jobs/{UnknownId}/result", null, null, 404 },
        { "unknown job's shards", $"GET /v1/jobs/{UnknownId}/shards", null, null, 404 },
        { "cancel of an unknown job", $"POST /v1/jobs/{UnknownId}/cancel", null, null, 404 },
        { "waitSeconds out of range", $"GET /v1/jobs/{UnknownId}/result?waitSeconds=61", null, null, 400 },
        { "bad list filter", "GET /v1/jobs?state=bogus", null, null, 400 },
        { "bad shard limit", $"GET /v1/jobs/{UnknownId}/shards?limit=0", null, null, 400 },
        { "bad result page", $"GET /v1/jobs/{UnknownId}/result?limit=0", null, null, 400 },
        { "unknown job's download", $"GET /v1/jobs/{UnknownId}/result/download", null, null, 404 },
        { "unknown upload referenced", "POST /v1/jobs", "application/json", """{ "kind": "sort", "input": { "inputRef": "nope", "format": "lines" } }""", 400 },
        { "upload of JSON", "POST /v1/inputs", "application/json", "[1, 2]", 415 },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Every_error_is_served_as_application_problem_json(string name, string request, string? contentType, string? body, int status)
    {
        var parts = request.Split(' ');
        using var message = new HttpRequestMessage(new HttpMethod(parts[0]), parts[1]);
        if (body is not null)
        {
            message.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null) message.Content.Headers.ContentType = new(contentType);
        }
        using var response = await Client.SendAsync(message);
        Assert.True((int)response.StatusCode == status, $"{name}: expected {status}, got {(int)response.StatusCode}");
        Assert.True(response.Content.Headers.ContentType?.MediaType == TestSupport.ProblemJson,
            $"{name} ({status}) is served as {response.Content.Headers.ContentType}, not {TestSupport.ProblemJson}");
    }

    [Fact]
    public async Task Idempotency_mismatch_422_is_served_as_application_problem_json()
    {
        var key = Guid.NewGuid().ToString();
        (await PostJobJsonAsync("""{ "kind": "noop", "input": {} }""", key)).Dispose();
        using var response = await PostJobJsonAsync("""{ "kind": "noop", "input": { "sleepMs": 1 } }""", key);
        Assert.Equal(422, (int)response.StatusCode);
        Assert.Equal(TestSupport.ProblemJson, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_409_of_an_unfinished_job_is_served_as_application_problem_json()
    {
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 30_000 } });
        using var response = await Client.GetAsync($"/v1/jobs/{job.Id()}/result");
        (await Client.PostAsync($"/v1/jobs/{job.Id()}/cancel", null)).Dispose();
        Assert.Equal(409, (int)response.StatusCode);
        Assert.Equal(TestSupport.ProblemJson, response.Content.Headers.ContentType?.MediaType);
    }
}
