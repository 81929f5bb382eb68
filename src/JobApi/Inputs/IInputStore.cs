namespace JobApi.Inputs;

/// <summary>An uploaded input: its size, the size of the chunks it is stored in, and its SHA-256.</summary>
public sealed record InputInfo(string Id, long Bytes, int ChunkBytes, string Sha256)
{
    public long Chunks => (Bytes + ChunkBytes - 1) / ChunkBytes;
}

/// <summary>Where uploaded inputs live (<c>POST /v1/inputs</c>) and how kinds read them: in fixed-size chunks,
/// so a shard reads only the chunks of its byte range and nobody holds a whole input in memory.</summary>
public interface IInputStore
{
    /// <summary>Streams <paramref name="body"/> into the store chunk by chunk, as an input of <paramref name="tenant"/>.
    /// Over <paramref name="maxBytes"/> it throws <see cref="InputTooLargeException"/>, over the tenant's stored-bytes
    /// quota <see cref="InputOverQuotaException"/>, and keeps nothing; an interrupted upload keeps nothing either.</summary>
    Task<InputInfo> SaveAsync(Stream body, long maxBytes, string tenant, CancellationToken cancellationToken);

    /// <summary>The input's record, restarting its retention; null when it is unknown or expired. Whoever uploaded it:
    /// for shards reading the input their job was planned with.</summary>
    Task<InputInfo?> FindAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="FindAsync(string, CancellationToken)"/>, but null also when the input belongs to another
    /// tenant than <paramref name="tenant"/>: what the API and job planning use.</summary>
    Task<InputInfo?> FindAsync(string id, string tenant, CancellationToken cancellationToken = default);

    /// <summary>The tenant that uploaded the input; null when it is unknown or expired.</summary>
    Task<string?> OwnerAsync(string id);

    /// <summary>Deletes the tenant's input and releases its bytes from the tenant's quota; false when the tenant has no such input.</summary>
    Task<bool> DeleteAsync(string id, string tenant, CancellationToken cancellationToken = default);

    /// <summary>Chunk <paramref name="index"/>: <see cref="InputInfo.ChunkBytes"/> bytes, the last one shorter.
    /// Throws <see cref="InputGoneException"/> when the input expired meanwhile.</summary>
    Task<byte[]> ReadChunkAsync(InputInfo input, long index, CancellationToken cancellationToken);
}

public sealed class InputTooLargeException(long maxBytes)
    : Exception($"The input exceeds JobApi:Limits:MaxInputBytes ({maxBytes} bytes).")
{
    public long MaxBytes { get; } = maxBytes;
}

public sealed class InputOverQuotaException(Engine.QuotaRefusal refusal)
    : Exception($"The input would exceed {refusal.Limit} ({refusal.Used} used of {refusal.Max}).")
{
    public Engine.QuotaRefusal Refusal { get; } = refusal;
}

public sealed class InputGoneException(string id)
    : Exception($"Input '{id}' is gone (expired or never uploaded); upload it again with POST /v1/inputs.");
