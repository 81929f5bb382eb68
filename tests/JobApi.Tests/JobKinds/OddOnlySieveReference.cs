using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace JobApi.Tests.JobKinds;

/// <summary>
/// Independent reference for <c>PrimeSieve</c>: the service's former sieve, kept only in the tests.
/// Counts and sums the primes in a range with a segmented sieve of Eratosthenes over odd numbers only,
/// one bit per odd number (bit b stands for 2b + 1). Each segment starts as a copy of a precomputed
/// pattern that already has the multiples of 3, 5, 7, 11 and 13 removed; the base primes from 17 up to
/// sqrt(to) are crossed off segment by segment. Counting is popcount; summing uses popcounts too, so no
/// loop ever visits a single prime.
/// </summary>
internal static class OddOnlySieveReference
{
    public const long MaxLimit = 1_000_000_000_000;

    /// <summary>64 KiB of bits per segment: 524,288 odd numbers, inside L2 and mostly inside L1 while crossing.</summary>
    private const int SegmentWords = 8192;

    private static readonly int[] PresievedPrimes = [2, 3, 5, 7, 11, 13];
    private const int PatternPeriod = 3 * 5 * 7 * 11 * 13; // in bits; the pattern holds 64 periods, so it is word-periodic too
    private static readonly ulong[] Pattern = BuildPattern();
    /// <summary>Odd primes from 17 up to sqrt(10^12) = 10^6 (78,492 of them), enough for any allowed range.</summary>
    private static readonly int[] BasePrimes = SmallSieve(1_000_000);

    public static (long Count, UInt128 Sum) CountAndSum(long from, long to, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(to, MaxLimit);
        long count = 0;
        UInt128 sum = 0;
        foreach (var p in PresievedPrimes)
        {
            if (p >= from && p <= to) { count++; sum += (uint)p; }
        }
        long bitLo = from >> 1, bitHi = ((to + 1) >> 1) - 1; // odd numbers 2b+1 within [from, to]
        if (bitHi < bitLo) return (count, sum);

        long wordLo = bitLo >> 6, wordHi = bitHi >> 6;
        var root = ISqrt(to);
        int primeCount = CountAtMost(root);
        var next = new long[primeCount]; // per base prime: bit index of its next odd multiple to cross off
        for (int i = 0; i < primeCount; i++)
        {
            long p = BasePrimes[i];
            long start = Math.Max(p * p, wordLo * 128 + 1);
            long multiple = (start + p - 1) / p * p;
            if ((multiple & 1) == 0) multiple += p;
            next[i] = multiple >> 1;
        }

        var segment = new ulong[SegmentWords]; // one per call, reused by every segment
        for (long word0 = wordLo; word0 <= wordHi; word0 += segment.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int words = (int)Math.Min(segment.Length, wordHi - word0 + 1);
            long bit0 = word0 * 64;
            FillFromPattern(segment.AsSpan(0, words), word0);
            if (word0 == 0) segment[0] &= ~1UL; // 1 is not a prime
            CrossOff(segment, words * 64, bit0, next);
            if (word0 == wordLo) segment[0] &= ~0UL << (int)(bitLo & 63);
            if (word0 + words - 1 == wordHi) segment[words - 1] &= ~0UL >> (63 - (int)(bitHi & 63));
            var (segmentCount, bitIndexSum) = CountAndSumBits(segment.AsSpan(0, words), bit0);
            count += segmentCount;
            sum += 2 * (UInt128)bitIndexSum + (ulong)segmentCount; // each bit b is the number 2b + 1
        }
        return (count, sum);
    }

    private static void CrossOff(ulong[] segment, int bits, long bit0, long[] next)
    {
        ref ulong words = ref MemoryMarshal.GetArrayDataReference(segment);
        long lastNumber = 2 * (bit0 + bits) - 1;
        for (int i = 0; i < next.Length; i++)
        {
            int p = BasePrimes[i];
            if ((long)p * p > lastNumber) break; // larger primes start crossing in a later segment
            long offset = next[i] - bit0;
            if (offset >= bits) { continue; }
            int j = (int)offset;
            int unrolledEnd = bits - 3 * p;
            for (; j < unrolledEnd; j += 4 * p)
            {
                Unsafe.Add(ref words, j >> 6) &= ~(1UL << j);
                Unsafe.Add(ref words, (j + p) >> 6) &= ~(1UL << (j + p));
                Unsafe.Add(ref words, (j + 2 * p) >> 6) &= ~(1UL << (j + 2 * p));
                Unsafe.Add(ref words, (j + 3 * p) >> 6) &= ~(1UL << (j + 3 * p));
            }
            for (; j < bits; j += p) Unsafe.Add(ref words, j >> 6) &= ~(1UL << j);
            next[i] = bit0 + j;
        }
    }

    /// <summary>Number of set bits and the sum of their (global) bit indexes. The index sum of one word is
    /// sum over k of 2^k times the set bits whose position has bit k set.</summary>
    private static (long Count, ulong IndexSum) CountAndSumBits(ReadOnlySpan<ulong> words, long bit0)
    {
        long count = 0;
        ulong indexSum = 0;
        ulong wordBase = (ulong)bit0;
        foreach (var w in words)
        {
            int c = BitOperations.PopCount(w);
            count += c;
            indexSum += (ulong)c * wordBase
                + (ulong)BitOperations.PopCount(w & 0xAAAAAAAAAAAAAAAA)
                + ((ulong)BitOperations.PopCount(w & 0xCCCCCCCCCCCCCCCC) << 1)
                + ((ulong)BitOperations.PopCount(w & 0xF0F0F0F0F0F0F0F0) << 2)
                + ((ulong)BitOperations.PopCount(w & 0xFF00FF00FF00FF00) << 3)
                + ((ulong)BitOperations.PopCount(w & 0xFFFF0000FFFF0000) << 4)
                + ((ulong)BitOperations.PopCount(w & 0xFFFFFFFF00000000) << 5);
            wordBase += 64;
        }
        return (count, indexSum);
    }

    private static void FillFromPattern(Span<ulong> destination, long firstWord)
    {
        int offset = (int)(firstWord % PatternPeriod);
        while (!destination.IsEmpty)
        {
            int n = Math.Min(destination.Length, PatternPeriod - offset);
            Pattern.AsSpan(offset, n).CopyTo(destination);
            destination = destination[n..];
            offset = 0;
        }
    }

    private static ulong[] BuildPattern()
    {
        var pattern = new ulong[PatternPeriod];
        for (int b = 0; b < PatternPeriod * 64; b++)
        {
            int n = 2 * (b % PatternPeriod) + 1;
            if (n % 3 != 0 && n % 5 != 0 && n % 7 != 0 && n % 11 != 0 && n % 13 != 0) pattern[b >> 6] |= 1UL << b;
        }
        return pattern;
    }

    /// <summary>Odd primes from 17 to <paramref name="limit"/> with a plain sieve.</summary>
    private static int[] SmallSieve(int limit)
    {
        var composite = new bool[limit + 1];
        var primes = new List<int>(80_000);
        for (int i = 3; i <= limit; i += 2)
        {
            if (composite[i]) continue;
            if (i >= 17) primes.Add(i);
            for (long j = (long)i * i; j <= limit; j += 2 * i) composite[j] = true;
        }
        return [.. primes];
    }

    private static int CountAtMost(long value)
    {
        int index = Array.BinarySearch(BasePrimes, (int)Math.Min(value, int.MaxValue));
        return index >= 0 ? index + 1 : ~index;
    }

    internal static long ISqrt(long n)
    {
        long r = (long)Math.Sqrt(n);
        while (r * r > n) r--;
        while ((r + 1) * (r + 1) <= n) r++;
        return r;
    }
}
