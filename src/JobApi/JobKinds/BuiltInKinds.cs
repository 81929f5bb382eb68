namespace JobApi.JobKinds;

public static class BuiltInKinds
{
    /// <summary>Registers the kinds that ship with JobApi. The kinds that read uploads need an
    /// <see cref="Inputs.IInputStore"/> service (the engine registers the Redis one).</summary>
    public static IServiceCollection AddBuiltInJobKinds(this IServiceCollection services) =>
        services.AddJobKind<Primes>().AddJobKind<WordCount>().AddJobKind<Noop>()
            .AddJobKind<Sort>().AddJobKind<Hash>().AddJobKind<Stats>().AddJobKind<MatMul>().AddJobKind<MonteCarloPi>()
            .AddJobKind<MonteCarlo>();
}
