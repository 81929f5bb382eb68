using Microsoft.Extensions.Caching.Memory;

namespace JobApi.Engine;

/// <summary>The tenants of jobs this node has seen (submitted here or looked up), so that the tenant check of
/// <c>/v1/jobs/{id}</c> requests needs no round trip for them. A job's tenant never changes and its id is never
/// reused, so an entry cannot go stale; a deleted job answers 404 further on either way. Bounded in entries.</summary>
public sealed class JobOwners : IDisposable
{
    private const int Capacity = 50_000;
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = Capacity, CompactionPercentage = 0.25 });

    public string? TryGet(string jobId) => _cache.TryGetValue(jobId, out string? tenant) ? tenant : null;

    public void Remember(string jobId, string tenant) =>
        _cache.Set(jobId, tenant, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromHours(1) });

    public void Dispose() => _cache.Dispose();
}
