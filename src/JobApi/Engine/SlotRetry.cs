using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>The bounded retry of a command refused with <c>TRYAGAIN</c> (a Redis Cluster slot in migration):
/// backoff 10, 20, 40 ... 500 ms, 12 tries in all (about 3 s of waiting in all), then the error goes to the caller.</summary>
public static class SlotRetry
{
    public const int MaxTries = 12;
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(500);

    public static async Task<T> RunAsync<T>(Task<T> first, Func<Task<T>> again)
    {
        var delay = FirstDelay;
        for (var tries = 1; ; tries++)
        {
            try
            {
                return await (tries == 1 ? first : again());
            }
            catch (RedisServerException e) when (tries < MaxTries && IsSlotInMigration(e))
            {
                await Task.Delay(delay);
                delay = delay * 2 < MaxDelay ? delay * 2 : MaxDelay;
            }
        }
    }

    /// <summary><c>TRYAGAIN</c>: the command did not run because its keys are split between the migrating slot's
    /// source and target (or not all there yet).</summary>
    public static bool IsSlotInMigration(RedisServerException e) =>
        e.Kind == RedisErrorKind.TryAgain || e.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal);
}
