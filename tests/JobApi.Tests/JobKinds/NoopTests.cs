using System.Text.Json;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

public class NoopTests
{
    private static readonly Noop Kind = new();

    [Fact]
    public async Task A_shard_fails_on_its_first_failTimes_attempts_and_then_succeeds()
    {
        var payload = (await KindRunner.PlanAsync(Kind, """{ "failTimes": 2 }""")).ShardPayloads.Single();
        for (int attempt = 1; attempt <= 2; attempt++)
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(
                async () => await Kind.ProcessShardAsync(new ShardWork("j", 0, attempt, payload), CancellationToken.None));
            Assert.Equal($"noop: planned failure on attempt {attempt}", e.Message);
        }
        Assert.NotNull(await Kind.ProcessShardAsync(new ShardWork("j", 0, 3, payload), CancellationToken.None));
    }

    [Fact]
    public async Task Merge_reports_the_number_of_shards()
    {
        var result = await KindRunner.RunAsync(Kind, """{ "sleepMs": 1 }""", 5);
        Assert.Equal(5, result.GetProperty("shards").GetInt32());
    }

    [Fact]
    public async Task An_empty_input_is_one_shard_that_neither_sleeps_nor_fails()
    {
        var plan = await KindRunner.PlanAsync(Kind, "{}");
        using var payload = JsonDocument.Parse(plan.ShardPayloads.Single());
        Assert.Equal(0, payload.RootElement.GetProperty("sleepMs").GetInt32());
        Assert.Equal(0, payload.RootElement.GetProperty("failTimes").GetInt32());
    }

    [Fact]
    public async Task A_sleeping_shard_stops_when_canceled()
    {
        var payload = (await KindRunner.PlanAsync(Kind, """{ "sleepMs": 60000 }""")).ShardPayloads.Single();
        using var cts = new CancellationTokenSource();
        var shard = Kind.ProcessShardAsync(new ShardWork("j", 0, 1, payload), cts.Token).AsTask();
        Assert.False(shard.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => shard);
    }
}
