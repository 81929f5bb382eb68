using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace JobApi.JobKinds;

/// <summary>All kinds this node knows, by name.</summary>
public sealed class JobKindRegistry(IEnumerable<IJobKind> kinds)
{
    private readonly Dictionary<string, IJobKind> _byName = kinds.ToDictionary(k => k.Name, StringComparer.Ordinal);

    public IEnumerable<IJobKind> All => _byName.Values.OrderBy(k => k.Name, StringComparer.Ordinal);

    public bool TryGet(string name, [NotNullWhen(true)] out IJobKind? kind) => _byName.TryGetValue(name, out kind);
}

public static class JobKindServiceCollectionExtensions
{
    /// <summary>The public extension point: registers a kind so that the API accepts it and workers run it.</summary>
    public static IServiceCollection AddJobKind<TKind>(this IServiceCollection services) where TKind : class, IJobKind
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobKind, TKind>());
        services.TryAddSingleton<JobKindRegistry>();
        return services;
    }
}
