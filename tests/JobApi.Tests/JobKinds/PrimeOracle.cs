using System.Numerics;

namespace JobApi.Tests.JobKinds;

/// <summary>Primality without any sieve: trial division by every odd number up to the square root, and the
/// deterministic Miller-Rabin test (bases 2 .. 17 decide every n below 3.4 * 10^14) for numbers too large for it.</summary>
internal static class PrimeOracle
{
    public static bool IsPrimeByTrialDivision(long n)
    {
        if (n < 2) return false;
        if (n % 2 == 0) return n == 2;
        for (long d = 3; d * d <= n; d += 2)
        {
            if (n % d == 0) return false;
        }
        return true;
    }

    public static bool IsPrimeByMillerRabin(long n)
    {
        ReadOnlySpan<long> bases = [2, 3, 5, 7, 11, 13, 17];
        if (n < 2) return false;
        foreach (var b in bases)
        {
            if (n % b == 0) return n == b;
        }
        long d = n - 1;
        int s = 0;
        for (; d % 2 == 0; d /= 2) s++;
        foreach (var b in bases)
        {
            if (!PassesRound(n, b, d, s)) return false;
        }
        return true;
    }

    /// <summary>Count and exact sum of the primes in [from, to] by one of the tests above.</summary>
    public static (long Count, BigInteger Sum) CountAndSum(long from, long to, Func<long, bool> isPrime)
    {
        long count = 0;
        BigInteger sum = 0;
        for (long n = from; n <= to; n++)
        {
            if (isPrime(n)) { count++; sum += n; }
        }
        return (count, sum);
    }

    private static bool PassesRound(long n, long b, long d, int s)
    {
        ulong m = (ulong)n, x = ModPow((ulong)b, (ulong)d, m);
        if (x == 1 || x == m - 1) return true;
        for (int r = 1; r < s; r++)
        {
            x = (ulong)((UInt128)x * x % m);
            if (x == m - 1) return true;
        }
        return false;
    }

    private static ulong ModPow(ulong b, ulong e, ulong m)
    {
        ulong result = 1;
        for (b %= m; e > 0; e >>= 1, b = (ulong)((UInt128)b * b % m))
        {
            if ((e & 1) == 1) result = (ulong)((UInt128)result * b % m);
        }
        return result;
    }
}
