using System.Security.Cryptography;
using JobApi.Inputs;

namespace JobApi.Tests.JobKinds;

/// <summary>Inputs in memory, in small chunks so that shard ranges cross chunk boundaries often.</summary>
internal sealed class MemoryInputStore(int chunkBytes = 64) : IInputStore
{
    private readonly Dictionary<string, byte[]> _inputs = [];

    public string Add(byte[] bytes)
    {
        var id = Engine.JobId.New();
        lock (_inputs) _inputs[id] = bytes;
        return id;
    }

    public async Task<InputInfo> SaveAsync(Stream body, long maxBytes, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await body.CopyToAsync(copy, cancellationToken);
        if (copy.Length > maxBytes) throw new InputTooLargeException(maxBytes);
        var id = Add(copy.ToArray());
        return (await FindAsync(id, cancellationToken))!;
    }

    public Task<InputInfo?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_inputs)
        {
            return Task.FromResult(_inputs.TryGetValue(id, out var bytes)
                ? new InputInfo(id, bytes.Length, chunkBytes, Convert.ToHexStringLower(SHA256.HashData(bytes)))
                : null);
        }
    }

    public Task<byte[]> ReadChunkAsync(InputInfo input, long index, CancellationToken cancellationToken)
    {
        byte[]? bytes;
        lock (_inputs) _inputs.TryGetValue(input.Id, out bytes);
        if (bytes is null) throw new InputGoneException(input.Id);
        var start = (int)(index * chunkBytes);
        return Task.FromResult(bytes.AsSpan(start, Math.Min(chunkBytes, bytes.Length - start)).ToArray());
    }
}
