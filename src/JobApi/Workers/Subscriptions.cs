using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>The channel subscriptions a background service makes as it starts.</summary>
internal static class Subscriptions
{
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(5);

    /// <summary>Subscribes <paramref name="handler"/> to <paramref name="channel"/>, and while Redis does not take the
    /// subscription (overloaded past the client's timeout, a connection lost, a refusal) reports the error and tries
    /// again after a pause that doubles up to 5 s, until it is taken or the service stops: a node that starts while Redis
    /// is struggling waits for it instead of stopping. A failed try takes the handler back first (the client registers
    /// it before the server answers), so that it is never registered twice.</summary>
    public static async Task SubscribeUntilTakenAsync(this ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler,
        Action<Exception> failed, CancellationToken stoppingToken)
    {
        var pause = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                await subscriber.SubscribeAsync(channel, handler);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                failed(e);
                try
                {
                    await subscriber.UnsubscribeAsync(channel, handler);
                }
                catch (Exception again) when (again is RedisException or TimeoutException)
                {
                    // The handler is off the client's list before the server is asked; the server's answer does not matter.
                }
            }
            await Task.Delay(pause, stoppingToken);
            pause = pause * 2 < LongestPause ? pause * 2 : LongestPause;
        }
    }
}
