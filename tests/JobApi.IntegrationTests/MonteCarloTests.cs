namespace JobApi.IntegrationTests;

/// <summary><c>montecarlo</c> over HTTP: jobs split into different shard counts and computed by the worker give the
/// same bits, and agree with the closed-form integral.</summary>
[Collection(RedisCollection.Name)]
public sealed class MonteCarloTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task The_volume_of_the_unit_3_ball_is_the_same_bits_for_1_7_and_64_shards_and_within_5_standard_errors_of_4_pi_over_3()
    {
        var input = new
        {
            samples = 600_000, seed = 2026, lo = new[] { -1.0, -1.0, -1.0 }, hi = new[] { 1.0, 1.0, 1.0 },
            integrand = new { family = "ball", radius = 1.0 },
        };
        var ids = new List<string>();
        foreach (var shards in new[] { 1, 7, 64 }) ids.Add((await Client.SubmitAsync(new { kind = "montecarlo", input, shards })).Id());
        var results = new List<string>();
        foreach (var id in ids) results.Add((await Client.ResultAsync(id)).GetRawText());
        Assert.Single(results.Distinct());

        var result = await Client.ResultAsync(ids[0]);
        var (estimate, error) = (result.GetProperty("estimate").GetDouble(), result.GetProperty("standardError").GetDouble());
        Assert.True(Math.Abs(estimate - 4 * Math.PI / 3) <= 5 * error, $"{estimate} ± {error}");
        Assert.Equal(600_000, result.GetProperty("samples").GetInt64());
    }
}
