using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.IntegrationTests;

/// <summary>
/// Redis forgets loaded scripts on a restart, on a failover to a replica that never ran them and on
/// <c>SCRIPT FLUSH</c>. The engine's next calls are refused with <c>NOSCRIPT</c>, are sent again with the script's
/// text (which loads it), and the work goes on.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class ScriptCacheTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task Jobs_run_on_after_Redis_forgets_the_scripts_and_the_scripts_are_loaded_again()
    {
        await Client.ResultAsync((await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 3 })).Id());
        await using var admin = await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        await server.ScriptFlushAsync();
        Assert.False(await server.ScriptExistsAsync(LuaScripts.Lease));

        var job = await Client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 100_000 }, shards = 4 });
        var result = await Client.ResultAsync(job.Id());
        Assert.Equal(9_592, result.GetProperty("count").GetInt64()); // pi(10^5)

        // Loaded again (SCRIPT EXISTS hashes the text on the client side). A plain submit on one server is SubmitWhole.
        foreach (var script in new[] { LuaScripts.SubmitWhole, LuaScripts.Lease, LuaScripts.Commit })
            Assert.True(await server.ScriptExistsAsync(script));
        // Once each script is loaded again (background loops reload theirs on their next call), a job runs with no
        // call refused: the client goes back to sending the scripts by hash.
        await TestSupport.WaitUntilAsync(async () =>
        {
            var before = await RefusedScriptCallsAsync(server);
            await Client.ResultAsync((await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 5 })).Id());
            return await RefusedScriptCallsAsync(server) == before;
        }, "a job that runs with no script call refused", TimeSpan.FromSeconds(20));
    }

    /// <summary>Failed and rejected EVALSHA calls so far (INFO commandstats).</summary>
    private static async Task<long> RefusedScriptCallsAsync(IServer server)
    {
        var line = (await server.InfoAsync("commandstats")).SelectMany(g => g).Single(p => p.Key == "cmdstat_evalsha").Value;
        return line.Split(',').Select(f => f.Split('='))
            .Where(f => f[0] is "rejected_calls" or "failed_calls")
            .Sum(f => long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
