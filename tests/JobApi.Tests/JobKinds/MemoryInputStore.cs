using System.Security.Cryptography;
using JobApi.Inputs;

namespace JobApi.Tests.JobKinds;

/// <summary>Inputs in memory, in small chunks so that shard ranges cross chunk boundaries often; each belongs to a
/// tenant (<c>default</c> unless named), as in Redis.</summary>
internal sealed class MemoryInputStore(int chunkBytes = 64) : IInputStore
{
    private readonly Dictionary<string, (byte[] Bytes, string Tenant)> _inputs = [];

    public string Add(byte[] bytes, string tenant = "default")
    {
        var id = Engine.JobId.New();
        lock (_inputs) _inputs[id] = (bytes, tenant);
        return id;
    }

    public async Task<InputInfo> SaveAsync(Stream body, long maxBytes, string tenant, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await body.CopyToAsync(copy, cancellationToken);
        if (copy.Length > maxBytes) throw new InputTooLargeException(maxBytes);
        var id = Add(copy.ToArray(), tenant);
        return (await FindAsync(id, cancellationToken))!;
    }

    public Task<InputInfo?> FindAsync(string id, CancellationToken cancellationToken = default) => Find(id, null);

    public Task<InputInfo?> FindAsync(string id, string tenant, CancellationToken cancellationToken = default) => Find(id, tenant);

    private Task<InputInfo?> Find(string id, string? tenant)
    {
        lock (_inputs)
        {
            return Task.FromResult(_inputs.TryGetValue(id, out var input) && (tenant is null || input.Tenant == tenant)
                ? new InputInfo(id, input.Bytes.Length, chunkBytes, Convert.ToHexStringLower(SHA256.HashData(input.Bytes)))
                : null);
        }
    }

    public Task<string?> OwnerAsync(string id)
    {
        lock (_inputs) return Task.FromResult(_inputs.TryGetValue(id, out var input) ? input.Tenant : null);
    }

    public Task<bool> DeleteAsync(string id, string tenant, CancellationToken cancellationToken = default)
    {
        lock (_inputs) return Task.FromResult(_inputs.TryGetValue(id, out var input) && input.Tenant == tenant && _inputs.Remove(id));
    }

    public Task<byte[]> ReadChunkAsync(InputInfo input, long index, CancellationToken cancellationToken)
    {
        byte[]? bytes;
        lock (_inputs) bytes = _inputs.TryGetValue(input.Id, out var stored) ? stored.Bytes : null;
        if (bytes is null) throw new InputGoneException(input.Id);
        var start = (int)(index * chunkBytes);
        return Task.FromResult(bytes.AsSpan(start, Math.Min(chunkBytes, bytes.Length - start)).ToArray());
    }
}
