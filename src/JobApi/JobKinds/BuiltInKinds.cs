namespace JobApi.JobKinds;

public static class BuiltInKinds
{
    /// <summary>Registers the kinds that ship with JobApi: <c>primes</c>, <c>wordcount</c> and <c>noop</c>.</summary>
    public static IServiceCollection AddBuiltInJobKinds(this IServiceCollection services) =>
        services.AddJobKind<Primes>().AddJobKind<WordCount>().AddJobKind<Noop>();
}
