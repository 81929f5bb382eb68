using System.Runtime.InteropServices;

namespace JobApi.JobKinds;

/// <summary>
/// Counts and sums the primes in a range with a segmented sieve of Eratosthenes on a modulo-30 wheel
/// (<see cref="PrimeWheel"/>: one byte per 30 numbers, one bit per number coprime to 30). Each segment starts as
/// the AND of pre-sieve patterns that already lack the multiples of 7 .. 163; the base primes from 167 up to
/// sqrt(to) are crossed off segment by segment, each remembering where its next multiple lies and which step of
/// its wheel comes next. Counting is popcount; summing uses popcounts too, so no loop ever visits a single prime.
/// </summary>
internal static class PrimeSieve
{
    public const long MaxLimit = 1_000_000_000_000;

    /// <summary>256 KiB per segment (7,864,320 numbers), inside L2: large enough that every base prime below 10^5
    /// has dozens of multiples per segment, so the per-prime work of a segment stays small next to the crossing off.</summary>
    internal const int SegmentBytes = 256 * 1024;

    /// <summary>Primes from 167 (the first one not pre-sieved) up to sqrt(10^12) = 10^6, enough for any allowed range,
    /// grouped by their residue modulo 30 (ascending within a group) so that each group crosses off with one wheel.</summary>
    private static readonly int[][] BasePrimesByClass =
        [.. SmallSieve(1_000_000).GroupBy(p => PrimeWheel.IndexOfResidue[p % 30]).OrderBy(g => g.Key).Select(g => g.ToArray())];

    public static (long Count, UInt128 Sum) CountAndSum(long from, long to, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(to, MaxLimit);
        long count = 0;
        UInt128 sum = 0;
        foreach (var p in PrimeSegment.PresievedPrimes)
        {
            if (p >= from && p <= to) { count++; sum += (uint)p; }
        }
        if (to < from) return (count, sum);

        long byteLo = from / 30, byteHi = to / 30;
        var classEnds = ActiveClassEnds(ISqrt(to));
        var next = new long[classEnds[^1]]; // per active base prime, class after class: byte of its next multiple
        var wheel = new byte[next.Length]; // and the residue index of that multiple's cofactor
        for (int c = 0, i = 0; c < 8; c++)
        {
            foreach (var p in ActivePrimes(c, classEnds)) (next[i], wheel[i++]) = FirstMultiple(p, 30 * byteLo);
        }

        var segment = new byte[(Math.Min(SegmentBytes, byteHi - byteLo + 1) + 7) & ~7]; // one per call, reused by every segment
        for (long byte0 = byteLo; byte0 <= byteHi; byte0 += SegmentBytes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int length = (int)Math.Min(SegmentBytes, byteHi - byte0 + 1);
            var bytes = segment.AsSpan(0, length);
            PrimeSegment.Presieve(bytes, byte0);
            CrossOff(bytes, byte0, classEnds, next, wheel);
            if (byte0 == 0) segment[0] &= 0xFE; // 1 is not a prime
            if (byte0 == byteLo) segment[0] &= KeepFrom(from - 30 * byteLo);
            if (byte0 + length - 1 == byteHi) segment[length - 1] &= (byte)~KeepFrom(to - 30 * byteHi + 1);
            int padded = (length + 7) & ~7; // whole words for the count; the padding counts nothing
            segment.AsSpan(length, padded - length).Clear();
            var (segmentCount, segmentSum) = PrimeSegment.CountAndSum(segment.AsSpan(0, padded), byte0);
            count += segmentCount;
            sum += segmentSum;
        }
        return (count, sum);
    }

    /// <summary>The first multiple p*q at or after both p*p and <paramref name="start"/> with q coprime to 30,
    /// as its byte and q's residue index.</summary>
    private static (long Byte, byte Wheel) FirstMultiple(long p, long start)
    {
        long q = Math.Max(p, (start + p - 1) / p);
        int r = (int)(q % 30), next = PrimeWheel.NextResidue[r];
        return (p * (q - r + next) / 30, PrimeWheel.IndexOfResidue[next]);
    }

    /// <summary>Crosses off the multiples of every active base prime inside the segment, one residue class at a time.</summary>
    private static void CrossOff(Span<byte> segment, long byte0, int[] classEnds, long[] next, byte[] wheel)
    {
        ref byte bytes = ref MemoryMarshal.GetReference(segment);
        for (int c = 0, first = 0; c < 8; first = classEnds[c++])
        {
            var range = new Range(first, classEnds[c]);
            PrimeWheel.CrossOff(c, ref bytes, segment.Length, byte0, ActivePrimes(c, classEnds), next.AsSpan(range), wheel.AsSpan(range));
        }
    }

    /// <summary>Mask of the bits of one byte whose residue is at least <paramref name="residue"/> (0 .. 30).</summary>
    private static byte KeepFrom(long residue)
    {
        int mask = 0;
        for (int k = 0; k < 8; k++)
        {
            if (PrimeWheel.Residues[k] >= residue) mask |= 1 << k;
        }
        return (byte)mask;
    }

    /// <summary>Primes from 167 to <paramref name="limit"/> with a plain odd-only sieve.</summary>
    private static int[] SmallSieve(int limit)
    {
        var composite = new bool[limit + 1];
        var primes = new List<int>(80_000);
        for (int i = 3; i <= limit; i += 2)
        {
            if (composite[i]) continue;
            if (i > PrimeSegment.PresievedPrimes[^1]) primes.Add(i);
            for (long j = (long)i * i; j <= limit; j += 2 * i) composite[j] = true;
        }
        return [.. primes];
    }

    /// <summary>Where each class's base primes up to <paramref name="root"/> end when the classes are laid out one
    /// after the other (class c's primes are BasePrimesByClass[c][..(classEnds[c] - classEnds[c - 1])]).</summary>
    private static int[] ActiveClassEnds(long root)
    {
        var classEnds = new int[8];
        for (int c = 0, end = 0; c < 8; c++) classEnds[c] = end += CountBelow(BasePrimesByClass[c], root + 1);
        return classEnds;
    }

    private static ReadOnlySpan<int> ActivePrimes(int c, int[] classEnds) =>
        BasePrimesByClass[c].AsSpan(0, classEnds[c] - (c == 0 ? 0 : classEnds[c - 1]));

    /// <summary>How many of the ascending <paramref name="primes"/> are below <paramref name="limit"/>.</summary>
    private static int CountBelow(int[] primes, long limit)
    {
        int index = Array.BinarySearch(primes, (int)Math.Min(limit, int.MaxValue));
        return index >= 0 ? index : ~index;
    }

    internal static long ISqrt(long n)
    {
        long r = (long)Math.Sqrt(n);
        while (r * r > n) r--;
        while ((r + 1) * (r + 1) <= n) r++;
        return r;
    }
}
