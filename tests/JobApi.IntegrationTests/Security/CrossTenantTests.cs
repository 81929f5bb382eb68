using StackExchange.Redis;

namespace JobApi.IntegrationTests.Security;

/// <summary>A job belongs to the tenant that submitted it: to every other tenant, every <c>/v1/jobs/{id}</c>
/// endpoint (read from the routing table, so endpoints added later are covered) answers exactly as for an
/// unknown id, and nothing changes; lists and idempotency keys are per tenant.</summary>
[Collection(RedisCollection.Name)]
public sealed class CrossTenantTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service, Tenancy.Settings())
{
    private HttpClient Acme => _acme ??= Factory.ClientWithKey(Tenancy.AcmeKey);
    private HttpClient Globex => _globex ??= Factory.ClientWithKey(Tenancy.GlobexKey);
    private HttpClient? _acme, _globex;

    private async Task<Dictionary<string, string>> JobStateAsync(string id)
    {
        var db = Redis.Redis.GetDatabase();
        var state = new Dictionary<string, string>();
        foreach (var key in await KeysAsync($"{{{id}}}:*"))
        {
            var type = await db.KeyTypeAsync(key);
            state[key] = type == RedisType.Hash
                ? string.Join(",", (await db.HashGetAllAsync(key)).OrderBy(e => (string)e.Name!).Select(e => $"{e.Name}={e.Value}"))
                : type.ToString();
        }
        return state;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_job_endpoint_answers_another_tenants_job_as_unknown_and_changes_nothing(bool finished)
    {
        var job = await Acme.SubmitAsync(new { kind = "noop", input = new { sleepMs = finished ? 0 : 30_000 }, shards = 2 });
        var id = job.Id();
        if (finished) await Acme.WaitForFinalAsync(id);
        var endpoints = Factory.Endpoints(t => t.StartsWith("v1/jobs/{id", StringComparison.Ordinal));
        Assert.Contains(endpoints, e => e is ("POST", "v1/jobs/{id}/cancel"));
        Assert.True(endpoints.Count >= 4, $"found only {endpoints.Count} job endpoints");
        var before = await JobStateAsync(id);
        foreach (var (method, template) in endpoints)
        {
            foreach (var (label, client, path) in new[]
                     {
                         ("another tenant's job", Globex, Tenancy.PathFor(template, id)),
                         ("an unknown job", Acme, Tenancy.PathFor(template, "01ARZ3NDEKTSV4RRFFQ69G5FAV")),
                     })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is "POST" or "PUT") request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
                using var response = await client.SendAsync(request);
                Assert.True((int)response.StatusCode == 404, $"{method} {template} on {label}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                var problem = await response.AssertProblemAsync(404);
                Assert.Equal("urn:jobapi:problem:not-found", problem.GetProperty("type").GetString());
            }
        }
        if (!finished) Assert.Contains((await Acme.GetJsonAsync($"/v1/jobs/{id}")).State(), new[] { "queued", "running" });
        Assert.Equal(before.Keys.Order(), (await JobStateAsync(id)).Keys.Order());
        if (finished) Assert.Equal(before, await JobStateAsync(id));
        if (!finished) await Acme.PostAsync($"/v1/jobs/{id}/cancel", null);
    }

    [Fact]
    public async Task The_job_list_shows_only_the_callers_jobs()
    {
        var acmeJobs = new List<string>();
        for (var i = 0; i < 3; i++) acmeJobs.Add((await Acme.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 } })).Id());
        var globexJob = (await Globex.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 } })).Id();

        var acmeList = await ListIdsAsync(Acme);
        var globexList = await ListIdsAsync(Globex);
        Assert.Superset(acmeJobs.ToHashSet(), acmeList.ToHashSet());
        Assert.DoesNotContain(globexJob, acmeList);
        Assert.Contains(globexJob, globexList);
        Assert.Empty(globexList.Intersect(acmeJobs));
    }

    private static async Task<List<string>> ListIdsAsync(HttpClient client)
    {
        var page = await client.GetJsonAsync("/v1/jobs?limit=1000");
        return page.GetProperty("items").EnumerateArray().Select(j => j.Id()).ToList();
    }

    [Fact]
    public async Task The_same_idempotency_key_in_two_tenants_makes_two_jobs()
    {
        var body = new { kind = "noop", input = new { sleepMs = 0 } };
        var a1 = await Acme.SubmitAsync(body, idempotencyKey: "order-42");
        var g1 = await Globex.SubmitAsync(body, idempotencyKey: "order-42");
        var a2 = await Acme.SubmitAsync(body, idempotencyKey: "order-42");
        Assert.NotEqual(a1.Id(), g1.Id());
        Assert.Equal(a1.Id(), a2.Id());
        // Another body under the same key is a conflict only within the tenant that used it.
        var g2 = await Globex.SubmitAsync(body, idempotencyKey: "order-43");
        var a3 = await Acme.SubmitAsync(new { kind = "noop", input = new { sleepMs = 1 } }, idempotencyKey: "order-43");
        Assert.NotEqual(g2.Id(), a3.Id());
    }
}
