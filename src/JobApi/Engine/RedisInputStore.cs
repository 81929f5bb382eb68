using System.Globalization;
using System.Security.Cryptography;
using JobApi.Inputs;
using JobApi.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Inputs in Redis: a HASH of 1 MiB chunks plus a small record, under the input's own hash tag.
/// An upload's chunks carry a short TTL until the upload completes; a complete input lives for the
/// retention (<c>JobApi:Retention</c>), restarted whenever a job references it or a shard reads it.</summary>
public sealed class RedisInputStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<JobApiOptions> options) : IInputStore
{
    public const int ChunkBytes = 1 << 20;
    private static readonly TimeSpan UploadTtl = TimeSpan.FromMinutes(10);
    private long RetentionMs => (long)options.Value.Retention.TotalMilliseconds;
    private IDatabase Db => redis.GetDatabase();

    public async Task<InputInfo> SaveAsync(Stream body, long maxBytes, CancellationToken cancellationToken)
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
        await db.EvaluateAsync(LuaScripts.InputComplete, [input.Meta, input.Chunks],
            [total, ChunkBytes, digest, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RetentionMs]);
        return new InputInfo(id, total, ChunkBytes, digest);
    }

    public async Task<InputInfo?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!JobId.IsWellFormed(id)) return null;
        var input = keys.Input(id);
        var result = await Db.EvaluateAsync(LuaScripts.InputTouch, [input.Meta, input.Chunks], [RetentionMs]);
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
