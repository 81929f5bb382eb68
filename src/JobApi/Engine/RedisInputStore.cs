using System.Globalization;
using System.Security.Cryptography;
using JobApi.Inputs;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Inputs in Redis: a HASH of 1 MiB chunks plus a small record, under the input's own hash tag.
/// An upload's chunks carry a short TTL until the upload completes; a complete input lives for the
/// retention (<c>JobApi:Retention</c>), restarted whenever a job references it or a shard reads it. The record names
/// the tenant that uploaded it (only that tenant can see or use it); its bytes count toward the tenant's stored-bytes
/// quota from just before the upload completes until it is deleted or expires.</summary>
public sealed class RedisInputStore(IConnectionMultiplexer redis, RedisKeys keys, TenantQuota quota, IOptions<JobApiOptions> options) : IInputStore
{
    public const int ChunkBytes = 1 << 20;
    private static readonly TimeSpan UploadTtl = TimeSpan.FromMinutes(10);
    private long RetentionMs => (long)options.Value.Retention.TotalMilliseconds;
    private IDatabase Db => redis.GetDatabase();

    public async Task<InputInfo> SaveAsync(Stream body, long maxBytes, string tenant, CancellationToken cancellationToken)
    {
        var id = JobId.New();
        var input = keys.Input(id);
        var db = Db;
        var buffer = new byte[ChunkBytes];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long total = 0;
        try
        {
            for (long chunk = 0; ; chunk++)
            {
                var filled = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
                if (filled == 0) break;
                total += filled;
                if (total > maxBytes) throw new InputTooLargeException(maxBytes);
                sha.AppendData(buffer, 0, filled);
                var batch = db.CreateBatch();
                var set = batch.HashSetAsync(input.Chunks, chunk, buffer.AsMemory(0, filled));
                var ttl = batch.KeyExpireAsync(input.Chunks, UploadTtl);
                batch.Execute();
                await Task.WhenAll(set, ttl); // the buffer is reused only after Redis has it
                if (filled < buffer.Length) break;
            }
        }
        catch
        {
            await db.KeyDeleteAsync(input.Chunks, CommandFlags.FireAndForget);
            throw;
        }
        var digest = Convert.ToHexStringLower(sha.GetHashAndReset());
        // Counted before the record exists, so a complete input is never uncounted (a crash in between leaves a
        // count whose chunks expire, which the quota's settle pass releases).
        if (await quota.ReserveInputAsync(tenant, id, total) is { } refusal)
        {
            await db.KeyDeleteAsync(input.Chunks);
            throw new InputOverQuotaException(refusal);
        }
        await db.EvaluateAsync(LuaScripts.InputComplete, [input.Meta, input.Chunks],
            [total, ChunkBytes, digest, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RetentionMs, tenant]);
        return new InputInfo(id, total, ChunkBytes, digest);
    }

    public Task<InputInfo?> FindAsync(string id, CancellationToken cancellationToken = default) => TouchAsync(id, "");

    public Task<InputInfo?> FindAsync(string id, string tenant, CancellationToken cancellationToken = default) => TouchAsync(id, tenant);

    public async Task<string?> OwnerAsync(string id)
    {
        if (!JobId.IsWellFormed(id)) return null;
        var v = await Db.HashGetAsync(keys.Input(id).Meta, ["bytes", "tenant"]);
        return v[0].IsNull ? null : v[1].IsNull ? Tenants.Default : (string)v[1]!;
    }

    public async Task<bool> DeleteAsync(string id, string tenant, CancellationToken cancellationToken = default)
    {
        if (await OwnerAsync(id) != tenant) return false;
        var input = keys.Input(id);
        var deleted = await Db.KeyDeleteAsync([input.Meta, input.Chunks]) > 0;
        await quota.ReleaseInputAsync(tenant, id);
        return deleted;
    }

    private async Task<InputInfo?> TouchAsync(string id, string tenant)
    {
        if (!JobId.IsWellFormed(id)) return null;
        var input = keys.Input(id);
        var result = await Db.EvaluateAsync(LuaScripts.InputTouch, [input.Meta, input.Chunks], [RetentionMs, tenant]);
        if (result.IsNull) return null;
        var h = (RedisValue[])result!;
        return new InputInfo(id, (long)h[0], (int)h[1], (string)h[2]!);
    }

    public async Task<byte[]> ReadChunkAsync(InputInfo input, long index, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var bytes = (byte[]?)await Db.HashGetAsync(keys.Input(input.Id).Chunks, index.ToString(CultureInfo.InvariantCulture));
        return bytes ?? throw new InputGoneException(input.Id);
    }
}
