using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace JobApi.JobKinds;

/// <summary>
/// The modulo-30 wheel of <see cref="PrimeSieve"/>: byte i of a sieve stands for the 30 numbers 30i .. 30i + 29,
/// of which only the 8 coprime to 30 can be prime; bit k is the number 30i + <see cref="Residues"/>[k].
/// Also holds the pre-sieve patterns (multiples of 7 .. 163 already removed) and the popcount-based count and sum.
/// </summary>
internal static class PrimeWheel
{
    public static readonly byte[] Residues = [1, 7, 11, 13, 17, 19, 23, 29];
    /// <summary>Gaps[k]: distance from residue k to the next residue (29 to 31 = 2).</summary>
    private static readonly byte[] Gaps = [6, 4, 2, 4, 2, 4, 6, 2];

    /// <summary>Index k of a residue coprime to 30 (255 for the others).</summary>
    public static readonly byte[] IndexOfResidue = BuildIndexOfResidue();

    /// <summary>Crossing off prime p = 30a + Residues[c] walks its multiples p*q over q coprime to 30. With q's
    /// residue index w, p*q lies in byte p*q/30 at bit Residues-index of (Residues[c]*Residues[w] mod 30), and the
    /// next multiple p*(q + Gaps[w]) lies Step(a, c, w) = a*Gaps[w] + Carries[8c + w] bytes further on, where the carry
    /// is (Residues[c]*Residues[w] mod 30 + Residues[c]*Gaps[w]) / 30. Masks[8c + w] clears that bit.</summary>
    public static readonly byte[] Masks = ByClassAndIndex((c, w) => ~(1 << IndexOfResidue[Residues[c] * Residues[w] % 30]));
    public static readonly byte[] Carries = ByClassAndIndex((c, w) => (Residues[c] * Residues[w] % 30 + Residues[c] * Gaps[w]) / 30);
    /// <summary>Within one wheel turn (q = 30b + 1 .. 30b + 29, eight multiples, p bytes in all), the multiple
    /// with q's residue index k lies a*(Residues[k] - 1) + TurnOffsets[8c + k] bytes after the one with k = 0.</summary>
    private static readonly byte[] TurnOffsets = ByClassAndIndex((c, k) => Residues[c] * Residues[k] / 30);

    /// <summary>Pre-sieve groups: each pattern is one period (the product of its primes, in bytes, since 30 is
    /// invertible modulo each of them) with the multiples of its primes removed. Copied and ANDed into each segment.</summary>
    public static readonly int[] PresievedPrimes = [2, 3, 5, .. PresieveGroups().SelectMany(g => g)];
    private static readonly byte[][] Patterns = [.. PresieveGroups().Select(BuildPattern)];

    private static int[][] PresieveGroups() =>
        [[7, 11, 13, 17], [19, 23, 29], [31, 37], [41, 43], [47, 53], [59, 61], [67, 71], [73, 79], [83, 89],
         [97, 101], [103, 107], [109, 113], [127, 131], [137, 139], [149, 151], [157, 163]];

    /// <summary>Crosses off p's multiples from byte k (q's residue index w) to the end of the segment and returns
    /// the byte of the first multiple past it; w is left at that multiple's index.</summary>
    public static int CrossOff(ref byte segment, int length, int p, int k, ref int w)
    {
        int a = p / 30, c8 = 8 * IndexOfResidue[p % 30];
        ref byte masks = ref MemoryMarshal.GetArrayDataReference(Masks);
        ref byte carries = ref MemoryMarshal.GetArrayDataReference(Carries);
        ref byte gaps = ref MemoryMarshal.GetArrayDataReference(Gaps);
        if (p < length)
        {
            for (; w != 0 && k < length; w = (w + 1) & 7) // single steps up to the start of a wheel turn
            {
                Unsafe.Add(ref segment, k) &= Unsafe.Add(ref masks, c8 + w);
                k += a * Unsafe.Add(ref gaps, w) + Unsafe.Add(ref carries, c8 + w);
            }
            k = CrossOffTurns(ref segment, length, p, k, a, c8);
        }
        for (; k < length; w = (w + 1) & 7)
        {
            Unsafe.Add(ref segment, k) &= Unsafe.Add(ref masks, c8 + w);
            k += a * Unsafe.Add(ref gaps, w) + Unsafe.Add(ref carries, c8 + w);
        }
        return k;
    }

    /// <summary>Whole wheel turns: eight multiples at fixed offsets, then p bytes on.</summary>
    private static int CrossOffTurns(ref byte segment, int length, int p, int k, int a, int c8)
    {
        ref byte offsets = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(TurnOffsets), c8);
        int o1 = 6 * a + Unsafe.Add(ref offsets, 1), o2 = 10 * a + Unsafe.Add(ref offsets, 2);
        int o3 = 12 * a + Unsafe.Add(ref offsets, 3), o4 = 16 * a + Unsafe.Add(ref offsets, 4);
        int o5 = 18 * a + Unsafe.Add(ref offsets, 5), o6 = 22 * a + Unsafe.Add(ref offsets, 6);
        int o7 = 28 * a + Unsafe.Add(ref offsets, 7);
        ulong m = MemoryMarshal.Read<ulong>(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Masks), c8), 8));
        for (; k + o7 < length; k += p)
        {
            ref byte b = ref Unsafe.Add(ref segment, k);
            b &= (byte)m;
            Unsafe.Add(ref b, o1) &= (byte)(m >> 8);
            Unsafe.Add(ref b, o2) &= (byte)(m >> 16);
            Unsafe.Add(ref b, o3) &= (byte)(m >> 24);
            Unsafe.Add(ref b, o4) &= (byte)(m >> 32);
            Unsafe.Add(ref b, o5) &= (byte)(m >> 40);
            Unsafe.Add(ref b, o6) &= (byte)(m >> 48);
            Unsafe.Add(ref b, o7) &= (byte)(m >> 56);
        }
        return k;
    }

    /// <summary>Fills the segment whose first byte is <paramref name="byte0"/> with the pre-sieve patterns ANDed together.</summary>
    public static void Presieve(Span<byte> segment, long byte0)
    {
        for (int g = 0; g < Patterns.Length; g++)
        {
            var pattern = Patterns[g];
            int offset = (int)(byte0 % pattern.Length);
            for (var rest = segment; !rest.IsEmpty; offset = 0)
            {
                int n = Math.Min(rest.Length, pattern.Length - offset);
                if (g == 0) pattern.AsSpan(offset, n).CopyTo(rest);
                else AndInto(rest[..n], pattern.AsSpan(offset, n));
                rest = rest[n..];
            }
        }
    }

    private static void AndInto(Span<byte> destination, ReadOnlySpan<byte> source)
    {
        ref byte d = ref MemoryMarshal.GetReference(destination);
        ref byte s = ref MemoryMarshal.GetReference(source);
        int i = 0;
        for (; i + Vector256<byte>.Count <= destination.Length; i += Vector256<byte>.Count)
        {
            (Vector256.LoadUnsafe(ref d, (nuint)i) & Vector256.LoadUnsafe(ref s, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < destination.Length; i++) Unsafe.Add(ref d, i) &= Unsafe.Add(ref s, i);
    }

    /// <summary>Number of set bits and the sum of the numbers they stand for; the segment's length is a multiple
    /// of 8 (zero-padded). With byte j of a word and bit k of a byte, the number is 30*(wordByte0 + j) + Residues[k],
    /// and Residues[k] = 1 + 4k + 2*[k is 1 or 2] - 2*[k is 5 or 6], so every term is a masked popcount.
    /// The sum fits a ulong: at most 2^20 bits per segment, each a number below 2^40.</summary>
    public static (long Count, ulong Sum) CountAndSum(ReadOnlySpan<byte> segment, long byte0)
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

    private static byte[] BuildIndexOfResidue()
    {
        var index = new byte[30];
        Array.Fill(index, (byte)255);
        for (int k = 0; k < 8; k++) index[Residues[k]] = (byte)k;
        return index;
    }

    private static byte[] ByClassAndIndex(Func<int, int, int> entry)
    {
        var table = new byte[64];
        for (int i = 0; i < 64; i++) table[i] = (byte)entry(i / 8, i % 8);
        return table;
    }

    private static byte[] BuildPattern(int[] primes)
    {
        var pattern = new byte[primes.Aggregate(1, (product, p) => product * p)];
        for (int i = 0; i < pattern.Length; i++)
        {
            for (int k = 0; k < 8; k++)
            {
                long n = 30L * i + Residues[k];
                if (primes.All(p => n % p != 0)) pattern[i] |= (byte)(1 << k);
            }
        }
        return pattern;
    }
}
