using System.Text;
using System.Text.Json;

namespace JobApi.IntegrationTests.Security;

/// <summary>Uploaded inputs and schedules belong to the tenant that made them: to every other tenant, every
/// <c>/v1/inputs/{id}</c> and <c>/v1/schedules/{id}</c> endpoint (from the routing table) answers exactly as for an
/// unknown id and changes nothing; another tenant's input used as <c>inputRef</c> is refused exactly as an unknown
/// one; the schedule list shows the caller's schedules only.</summary>
[Collection(RedisCollection.Name)]
public sealed class CrossTenantResourceTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service, Tenancy.Settings())
{
    private const string UnknownId = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    private HttpClient Acme => _acme ??= Factory.ClientWithKey(Tenancy.AcmeKey);
    private HttpClient Globex => _globex ??= Factory.ClientWithKey(Tenancy.GlobexKey);
    private HttpClient? _acme, _globex;

    [Fact]
    public async Task Every_input_endpoint_answers_another_tenants_input_as_unknown_and_it_stays()
    {
        var data = Encoding.UTF8.GetBytes("alpha beta\ngamma alpha\n");
        var input = await Acme.UploadInputAsync(data);
        var id = input.Id();
        var endpoints = Factory.Endpoints(t => t.StartsWith("v1/inputs/{id", StringComparison.Ordinal));
        Assert.Contains(endpoints, e => e is ("GET", "v1/inputs/{id}"));
        Assert.Contains(endpoints, e => e is ("DELETE", "v1/inputs/{id}"));

        await Tenancy.AssertEveryRouteAnswersAsUnknownAsync(endpoints, id, Globex, Acme);

        Assert.Equal(input.GetProperty("sha256").GetString(), (await Acme.GetJsonAsync($"/v1/inputs/{id}")).GetProperty("sha256").GetString());
        var count = await Acme.SubmitAsync(new { kind = "wordcount", input = new { inputRef = id } });
        Assert.Equal(4, (await Acme.ResultAsync(count.Id())).GetProperty("totalWords").GetInt32());
    }

    [Theory]
    [InlineData("wordcount", """{ "inputRef": "ID" }""")]
    [InlineData("hash", """{ "inputRef": "ID", "algorithm": "sha256" }""")]
    [InlineData("sort", """{ "inputRef": "ID", "format": "lines" }""")]
    [InlineData("stats", """{ "inputRef": "ID" }""")]
    public async Task Another_tenants_input_as_inputRef_is_refused_exactly_as_an_unknown_one(string kind, string inputTemplate)
    {
        var id = (await Acme.UploadInputAsync(Encoding.UTF8.GetBytes("1\n2\n3\n"))).Id();
        async Task<string> RefusalAsync(HttpClient client, string inputId)
        {
            var body = $$"""{ "kind": "{{kind}}", "input": {{inputTemplate.Replace("ID", inputId)}} }""";
            using var response = await client.PostJobBytesAsync(Encoding.UTF8.GetBytes(body), "application/json");
            var problem = await response.AssertProblemAsync(400);
            problem.AssertNamesField("input.inputRef");
            return problem.GetProperty("errors").GetRawText().Replace(inputId, "ID");
        }
        Assert.Equal(await RefusalAsync(Acme, UnknownId), await RefusalAsync(Globex, id));
        // The owner can use it, and a schedule of another tenant cannot name it either.
        await Acme.SubmitAsync(JsonDocument.Parse($$"""{ "kind": "{{kind}}", "input": {{inputTemplate.Replace("ID", id)}} }""").RootElement);
        using var schedule = await Globex.PostJsonAsync("/v1/schedules",
            new { cron = "0 0 1 1 *", job = new { kind, input = JsonDocument.Parse(inputTemplate.Replace("ID", id)).RootElement } });
        (await schedule.AssertProblemAsync(400)).AssertNamesField("job.input.inputRef");
    }

    [Fact]
    public async Task Every_schedule_endpoint_answers_another_tenants_schedule_as_unknown_and_changes_nothing()
    {
        using var created = await Acme.PostJsonAsync("/v1/schedules", new { cron = "0 0 1 1 *", job = new { kind = "noop", input = new { } } });
        var id = (await created.ReadJsonAsync()).Id();
        var endpoints = Factory.Endpoints(t => t.StartsWith("v1/schedules/{id", StringComparison.Ordinal));
        Assert.Contains(endpoints, e => e is ("DELETE", "v1/schedules/{id}"));
        Assert.Contains(endpoints, e => e is ("POST", "v1/schedules/{id}/pause"));
        var before = await Redis.Redis.GetDatabase().HashGetAllAsync(Keys.Schedules);

        await Tenancy.AssertEveryRouteAnswersAsUnknownAsync(endpoints, id, Globex, Acme);

        Assert.Equal(before.OrderBy(e => (string)e.Name!), (await Redis.Redis.GetDatabase().HashGetAllAsync(Keys.Schedules)).OrderBy(e => (string)e.Name!));
        var mine = await Acme.GetJsonAsync($"/v1/schedules/{id}");
        Assert.False(mine.GetProperty("paused").GetBoolean());
        Assert.Contains((await Acme.GetJsonAsync("/v1/schedules")).GetProperty("items").EnumerateArray(), s => s.Id() == id);
        Assert.DoesNotContain((await Globex.GetJsonAsync("/v1/schedules")).GetProperty("items").EnumerateArray(), s => s.Id() == id);
    }
}
