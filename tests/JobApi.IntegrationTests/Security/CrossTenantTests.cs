using StackExchange.Redis;

namespace JobApi.IntegrationTests.Security;

/// <summary>A job belongs to the tenant that submitted it: to every other tenant, every <c>/v1/jobs/{id}</c>
/// endpoint (read from the routing table, so endpoints added later are covered) answers exactly as for an
/// unknown id, and nothing changes; lists and idempotency keys are per tenant. Inputs and schedules:
/// <see cref="CrossTenantResourceTests"/>.</summary>
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
        await Tenancy.AssertEveryRouteAnswersAsUnknownAsync(endpoints, id, Globex, Acme);
        if (!finished) Assert.Contains((await Acme.GetJsonAsync($"/v1/jobs/{id}")).State(), new[] { "queued", "running" });
        Assert.Equal(before.Keys.Order(), (await JobStateAsync(id)).Keys.Order());
        if (finished) Assert.Equal(before, await JobStateAsync(id));
        if (!finished) await Acme.PostAsync($"/v1/jobs/{id}/cancel", null);
    }

    /// <summary>Every resource route that takes an id must be one this class or <see cref="CrossTenantResourceTests"/>
    /// checks route by route: a new resource with an id fails here until it is guarded and tested.</summary>
    [Fact]
    public void Every_v1_route_with_an_id_belongs_to_a_resource_whose_cross_tenant_test_covers_it()
    {
        var endpoints = Factory.Endpoints(t => t.StartsWith("v1/", StringComparison.Ordinal) && t.Contains("{id", StringComparison.Ordinal));
        Assert.NotEmpty(endpoints);
        Assert.All(endpoints, e => Assert.True(Tenancy.GuardedRoutePrefixes.Any(p => e.Template.StartsWith(p, StringComparison.Ordinal)),
            $"{e.Method} {e.Template} takes an id but no cross-tenant test covers it"));
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
