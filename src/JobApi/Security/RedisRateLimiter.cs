using System.Threading.RateLimiting;
using JobApi.Engine;
using StackExchange.Redis;

namespace JobApi.Security;

/// <summary>The request rate of one tenant (or client address), counted in Redis (<c>rate.lua</c>), so that every API
/// node draws from the same bucket and the limit holds for the whole cluster. Asking costs one script call; the
/// synchronous path never calls Redis (it answers "not now", and ASP.NET Core's middleware then asks asynchronously).
/// When Redis cannot answer, the request passes: the endpoint itself then answers 503.</summary>
public sealed partial class RedisRateLimiter(IConnectionMultiplexer redis, RedisKey bucket, int perSecond, ILogger logger) : RateLimiter
{
    private long _lastUsed = Environment.TickCount64;

    /// <summary>Lets ASP.NET Core's partitioned limiter drop the partitions of callers that went quiet.</summary>
    public override TimeSpan? IdleDuration => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastUsed));

    public override RateLimiterStatistics? GetStatistics() => null;

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => Lease.NotNow;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _lastUsed, Environment.TickCount64);
        if (permitCount == 0) return Lease.Granted;
        try
        {
            var reply = (RedisResult[])(await redis.GetDatabase().EvaluateAsync(LuaScripts.Rate, [bucket], [perSecond, perSecond]))!;
            return (int)reply[0] == 1 ? Lease.Granted : new Lease(false, TimeSpan.FromMilliseconds((long)reply[1]));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.Unavailable(logger, e);
            return Lease.Granted;
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(true, null);
        /// <summary>Refused without asking Redis: the middleware goes on to <see cref="AcquireAsyncCore"/>.</summary>
        public static readonly Lease NotNow = new(false, null);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(70, LogLevel.Warning, "Rate limit: Redis did not answer; the request passes unlimited")]
        public static partial void Unavailable(ILogger logger, Exception exception);
    }
}
