using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace JobApi.JobKinds;

/// <summary>
/// A segment of <see cref="PrimeSieve"/> (layout in <see cref="PrimeWheel"/>) before and after crossing off: it starts
/// as the AND of pre-sieve patterns (multiples of 7 .. 163 already removed), and at the end its set bits are counted
/// and summed with popcounts, never one prime at a time.
/// </summary>
internal static class PrimeSegment
{
    /// <summary>Pre-sieve groups: each pattern holds one period (the product of its primes, in bytes, since 30 is
    /// invertible modulo each of them) with the multiples of its primes removed, and repeats its start for one more
    /// chunk, so that any chunk of a segment is one contiguous slice of each pattern.</summary>
    public static readonly int[] PresievedPrimes = [2, 3, 5, .. PresieveGroups().SelectMany(g => g)];
    private static readonly int[] Periods = [.. PresieveGroups().Select(g => g.Aggregate(1, (product, p) => product * p))];
    private static readonly byte[][] Patterns = [.. PresieveGroups().Select(BuildPattern)];
    private const int PresieveChunkBytes = 8 * 1024;

    /// <summary>Sixteen groups, ANDed four at a time.</summary>
    private static int[][] PresieveGroups() =>
        [[7, 11, 13, 17], [19, 23, 29], [31, 37], [41, 43], [47, 53], [59, 61], [67, 71], [73, 79], [83, 89],
         [97, 101], [103, 107], [109, 113], [127, 131], [137, 139], [149, 151], [157, 163]];

    /// <summary>Fills the segment whose first byte is <paramref name="byte0"/> with the pre-sieve patterns ANDed
    /// together, chunk by chunk so that the chunk stays in L1 while the patterns pass over it.</summary>
    public static void Presieve(Span<byte> segment, long byte0)
    {
        for (int start = 0; start < segment.Length; start += PresieveChunkBytes)
        {
            var chunk = segment[start..Math.Min(segment.Length, start + PresieveChunkBytes)];
            for (int g = 0; g < Patterns.Length; g += 4)
            {
                AndInto(chunk, g > 0, Slice(g, byte0 + start), Slice(g + 1, byte0 + start), Slice(g + 2, byte0 + start), Slice(g + 3, byte0 + start));
            }
        }
    }

    private static ReadOnlySpan<byte> Slice(int g, long firstByte) => Patterns[g].AsSpan((int)(firstByte % Periods[g]));

    /// <summary>The destination becomes the AND of the four sources, and of itself too when <paramref name="and"/>.</summary>
    private static void AndInto(Span<byte> destination, bool and, ReadOnlySpan<byte> sa, ReadOnlySpan<byte> sb, ReadOnlySpan<byte> sc, ReadOnlySpan<byte> sd)
    {
        int n = destination.Length; // slicing checks that every source is long enough for the unchecked loads below
        ref byte x = ref MemoryMarshal.GetReference(destination);
        ref byte a = ref MemoryMarshal.GetReference(sa[..n]), b = ref MemoryMarshal.GetReference(sb[..n]);
        ref byte c = ref MemoryMarshal.GetReference(sc[..n]), d = ref MemoryMarshal.GetReference(sd[..n]);
        int i = 0;
        for (; i + Vector256<byte>.Count <= n; i += Vector256<byte>.Count)
        {
            var v = Vector256.LoadUnsafe(ref a, (nuint)i) & Vector256.LoadUnsafe(ref b, (nuint)i)
                & Vector256.LoadUnsafe(ref c, (nuint)i) & Vector256.LoadUnsafe(ref d, (nuint)i);
            (and ? v & Vector256.LoadUnsafe(ref x, (nuint)i) : v).StoreUnsafe(ref x, (nuint)i);
        }
        for (; i < n; i++)
        {
            byte v = (byte)(Unsafe.Add(ref a, i) & Unsafe.Add(ref b, i) & Unsafe.Add(ref c, i) & Unsafe.Add(ref d, i));
            Unsafe.Add(ref x, i) = and ? (byte)(v & Unsafe.Add(ref x, i)) : v;
        }
    }

    /// <summary>Number of set bits of the segment (its length a multiple of 8, zero-padded) and the sum of the
    /// numbers they stand for. The sum fits a ulong: at most 2^21 bits per segment (256 KiB), each a number below 2^40.</summary>
    public static (long Count, ulong Sum) CountAndSum(ReadOnlySpan<byte> segment, long byte0)
    {
        int vectorBytes = Avx2.IsSupported ? segment.Length & ~31 : 0;
        var (count, sum) = vectorBytes == 0 ? (0L, 0UL) : CountAndSumAvx2(segment[..vectorBytes], byte0);
        var (tailCount, tailSum) = CountAndSumWords(segment[vectorBytes..], byte0 + vectorBytes);
        return (count + tailCount, sum + tailSum);
    }

    /// <summary>32 bytes at a time: per byte, its popcount and the sum of its residues come from nibble tables
    /// (vpshufb); sums of bytes come from vpsadbw; the byte position weights from vpmaddubsw. A block's own position
    /// enters through a running total: the sum over blocks b of b * count(b) = blocks * total - sum over b of the
    /// count of blocks 0 .. b.</summary>
    internal static (long Count, ulong Sum) CountAndSumAvx2(ReadOnlySpan<byte> segment, long byte0)
    {
        var nibble = Vector256.Create((byte)0x0F);
        var popcounts = Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        Vector256<byte> lowResidues = NibbleResidueSums(0), highResidues = NibbleResidueSums(4);
        var positions = Vector256.Create((sbyte)0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
        var ones = Vector256.Create((short)1);
        Vector256<ulong> counts = default, runningCounts = default, residueSums = default;
        Vector256<int> positionSums = default;
        ref byte bytes = ref MemoryMarshal.GetReference(segment);
        int blocks = segment.Length / 32;
        for (int b = 0; b < blocks; b++)
        {
            var v = Vector256.LoadUnsafe(ref bytes, (nuint)(32 * b));
            Vector256<byte> low = v & nibble, high = Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble;
            var popcount = Avx2.Shuffle(popcounts, low) + Avx2.Shuffle(popcounts, high); // 0 .. 8 per byte
            var residues = Avx2.Shuffle(lowResidues, low) + Avx2.Shuffle(highResidues, high); // 0 .. 120 per byte
            counts += Avx2.SumAbsoluteDifferences(popcount, Vector256<byte>.Zero).AsUInt64();
            runningCounts += counts;
            residueSums += Avx2.SumAbsoluteDifferences(residues, Vector256<byte>.Zero).AsUInt64();
            positionSums += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(popcount, positions), ones); // <= 976 per block
        }
        ulong count = Vector256.Sum(counts), blockPositions = (ulong)blocks * count - Vector256.Sum(runningCounts);
        ulong bytePositions = 32 * blockPositions + (ulong)Vector256.Sum(positionSums);
        return ((long)count, count * 30 * (ulong)byte0 + 30 * bytePositions + Vector256.Sum(residueSums));
    }

    /// <summary>Per 4-bit value n, the sum of Residues[shift + k] over the bits k set in n, in both 128-bit lanes.</summary>
    private static Vector256<byte> NibbleResidueSums(int shift)
    {
        Span<byte> sums = stackalloc byte[32];
        for (int i = 0; i < 32; i++)
        {
            for (int k = 0; k < 4; k++) sums[i] += (byte)((i >> k & 1) * PrimeWheel.Residues[shift + k]);
        }
        return Vector256.Create<byte>(sums);
    }

    /// <summary>The same, one 64-bit word at a time. With byte j of a word and bit k of a byte, the number is 30*(wordByte0 + j) + Residues[k],
    /// and Residues[k] = 1 + 4k + 2*[k is 1 or 2] - 2*[k is 5 or 6], so every term is a masked popcount.</summary>
    internal static (long Count, ulong Sum) CountAndSumWords(ReadOnlySpan<byte> segment, long byte0)
    {
        long count = 0;
        ulong sum = 0, wordNumber0 = 30 * (ulong)byte0;
        foreach (var w in MemoryMarshal.Cast<byte, ulong>(segment))
        {
            ulong c = (ulong)BitOperations.PopCount(w);
            count += (long)c;
            ulong bytePositions = (ulong)BitOperations.PopCount(w & 0xFF00FF00FF00FF00)
                + ((ulong)BitOperations.PopCount(w & 0xFFFF0000FFFF0000) << 1)
                + ((ulong)BitOperations.PopCount(w & 0xFFFFFFFF00000000) << 2);
            ulong bitPositions = (ulong)BitOperations.PopCount(w & 0xAAAAAAAAAAAAAAAA)
                + ((ulong)BitOperations.PopCount(w & 0xCCCCCCCCCCCCCCCC) << 1)
                + ((ulong)BitOperations.PopCount(w & 0xF0F0F0F0F0F0F0F0) << 2);
            sum += c * (wordNumber0 + 1) + 30 * bytePositions + 4 * bitPositions
                + 2 * (ulong)BitOperations.PopCount(w & 0x0606060606060606)
                - 2 * (ulong)BitOperations.PopCount(w & 0x6060606060606060);
            wordNumber0 += 240;
        }
        return (count, sum);
    }

    private static byte[] BuildPattern(int[] primes)
    {
        var pattern = new byte[primes.Aggregate(1, (product, p) => product * p) + PresieveChunkBytes];
        for (int i = 0; i < pattern.Length; i++)
        {
            for (int k = 0; k < 8; k++)
            {
                long n = 30L * i + PrimeWheel.Residues[k];
                if (primes.All(p => n % p != 0)) pattern[i] |= (byte)(1 << k);
            }
        }
        return pattern;
    }
}
