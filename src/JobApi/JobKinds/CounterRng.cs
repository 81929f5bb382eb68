namespace JobApi.JobKinds;

/// <summary>A counter-based generator: value <c>i</c> of seed <c>s</c> is the SplitMix64 finalizer applied to
/// <c>mix(s) + (i + 1) · γ</c> (γ = 0x9E3779B97F4A7C15). Any shard computes any value directly from (seed, index),
/// so results never depend on how the indexes are split between shards.</summary>
public static class CounterRng
{
    private const ulong Gamma = 0x9E3779B97F4A7C15;

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>The base a seed starts from; compute once per shard and pass to <see cref="At"/>.</summary>
    public static ulong Base(long seed) => Mix(unchecked((ulong)seed));

    public static ulong At(ulong seedBase, long index) => Mix(unchecked(seedBase + (ulong)(index + 1) * Gamma));

    /// <summary>Value <paramref name="index"/> as a double uniform in [0, 1): its top 53 bits times 2^-53 (exact).</summary>
    public static double UnitAt(ulong seedBase, long index) => (At(seedBase, index) >> 11) * (1.0 / (1UL << 53));

    /// <summary>The generated int64 values of <c>generate: { count, seed }</c>: value i is <c>(long)At(seed, i)</c>.</summary>
    public static long Int64At(ulong seedBase, long index) => unchecked((long)At(seedBase, index));
}

/// <summary><c>generate</c>: a deterministic input of <c>count</c> int64 values for a <c>seed</c> (see <see cref="CounterRng"/>).</summary>
public sealed record GenerateSpec(long? Count, long? Seed);
