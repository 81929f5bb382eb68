using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.Tests.Queue;

public sealed class SlotRetryTests
{
    private static Task<int> Refused() => Task.FromException<int>(new RedisServerException(RedisErrorKind.TryAgain, CommandFlags.None, "TRYAGAIN Multiple keys request during rehashing of slot"));

    [Fact]
    public async Task Script_refused_with_tryagain_is_sent_again_until_it_runs()
    {
        var sent = 1;
        var result = await SlotRetry.RunAsync(Refused(), () => ++sent < 4 ? Refused() : Task.FromResult(42));
        Assert.Equal(42, result);
        Assert.Equal(4, sent);
    }

    [Fact]
    public async Task Tryagain_past_the_budget_goes_to_the_caller()
    {
        var sent = 1;
        await Assert.ThrowsAsync<RedisServerException>(() => SlotRetry.RunAsync(Refused(), () => { sent++; return Refused(); }));
        Assert.Equal(SlotRetry.MaxTries, sent);
    }

    [Fact]
    public async Task Other_redis_errors_are_not_sent_again()
    {
        var sent = 1;
        await Assert.ThrowsAsync<RedisServerException>(() => SlotRetry.RunAsync(
            Task.FromException<int>(new RedisServerException(RedisErrorKind.Unknown, CommandFlags.None, "ERR Error running script")), () => { sent++; return Task.FromResult(1); }));
        Assert.Equal(1, sent);
    }
}
