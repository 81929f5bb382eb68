using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace JobApi.JobKinds;

/// <summary>
/// The modulo-30 wheel of <see cref="PrimeSieve"/>: byte i of a sieve stands for the 30 numbers 30i .. 30i + 29,
/// of which only the 8 coprime to 30 can be prime; bit k is the number 30i + <see cref="Residues"/>[k].
/// Crossing off walks each base prime's multiples along the wheel.
/// </summary>
internal static class PrimeWheel
{
    public static readonly byte[] Residues = [1, 7, 11, 13, 17, 19, 23, 29];

    /// <summary>Index k of a residue coprime to 30 (255 for the others).</summary>
    public static readonly byte[] IndexOfResidue = BuildIndexOfResidue();
    /// <summary>NextResidue[r]: the smallest residue coprime to 30 that is at least r (0 .. 29).</summary>
    public static readonly byte[] NextResidue = [.. Enumerable.Range(0, 30).Select(r => Residues.First(x => x >= r))];

    /// <summary>Crosses off, inside the segment that starts at byte <paramref name="byte0"/>, the multiples of base
    /// primes of residue class c (ascending), each from its next multiple on, and moves those on past the segment.</summary>
    public static void CrossOff(int c, ref byte segment, int length, long byte0, ReadOnlySpan<int> primes, Span<long> next, Span<byte> wheel)
    {
        switch (c)
        {
            case 0: CrossOff<R1>(ref segment, length, byte0, primes, next, wheel); break;
            case 1: CrossOff<R7>(ref segment, length, byte0, primes, next, wheel); break;
            case 2: CrossOff<R11>(ref segment, length, byte0, primes, next, wheel); break;
            case 3: CrossOff<R13>(ref segment, length, byte0, primes, next, wheel); break;
            case 4: CrossOff<R17>(ref segment, length, byte0, primes, next, wheel); break;
            case 5: CrossOff<R19>(ref segment, length, byte0, primes, next, wheel); break;
            case 6: CrossOff<R23>(ref segment, length, byte0, primes, next, wheel); break;
            default: CrossOff<R29>(ref segment, length, byte0, primes, next, wheel); break;
        }
    }

    private static void CrossOff<T>(ref byte segment, int length, long byte0, ReadOnlySpan<int> primes, Span<long> next, Span<byte> wheel)
        where T : struct, IResidue
    {
        long lastNumber = 30 * (byte0 + length) - 1;
        for (int i = 0; i < primes.Length; i++)
        {
            int p = primes[i];
            if ((long)p * p > lastNumber) break; // larger primes of this class start crossing in a later segment
            long offset = next[i] - byte0;
            if (offset >= length) continue;
            int w = wheel[i];
            next[i] = byte0 + CrossOff<T>(ref segment, length, p, (int)offset, ref w);
            wheel[i] = (byte)w;
        }
    }

    /// <summary>One wheel turn is q = 30b + 1 .. 30b + 29: eight multiples at fixed offsets from the first, and the
    /// next turn starts p bytes further on. With p = 30a + T.Value, p*(30b + r) lies a*(r - 1) + T.Value*r/30 bytes
    /// after p*(30b + 1). Whole turns run unchecked; the partial turns at either end check each multiple.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CrossOff<T>(ref byte s, int end, int p, int k, ref int wheel) where T : struct, IResidue
    {
        nint a = p / 30, o1 = 6 * a + T.Value * 7 / 30, o2 = 10 * a + T.Value * 11 / 30, o3 = 12 * a + T.Value * 13 / 30;
        nint o4 = 16 * a + T.Value * 17 / 30, o5 = 18 * a + T.Value * 19 / 30, o6 = 22 * a + T.Value * 23 / 30;
        nint o7 = 28 * a + T.Value * 29 / 30;
        int w = wheel;
        // byte of the current turn's first multiple: it may lie before the segment, but only offsets from w on are touched
        nint b = k - w switch { 0 => 0, 1 => o1, 2 => o2, 3 => o3, 4 => o4, 5 => o5, 6 => o6, _ => o7 };
        while (true)
        {
            switch (w)
            {
                case 0: if (b >= end) { wheel = 0; return (int)b; } Unsafe.Add(ref s, b) &= Mask<T>(1); goto case 1;
                case 1: if (b + o1 >= end) { wheel = 1; return (int)(b + o1); } Unsafe.Add(ref s, b + o1) &= Mask<T>(7); goto case 2;
                case 2: if (b + o2 >= end) { wheel = 2; return (int)(b + o2); } Unsafe.Add(ref s, b + o2) &= Mask<T>(11); goto case 3;
                case 3: if (b + o3 >= end) { wheel = 3; return (int)(b + o3); } Unsafe.Add(ref s, b + o3) &= Mask<T>(13); goto case 4;
                case 4: if (b + o4 >= end) { wheel = 4; return (int)(b + o4); } Unsafe.Add(ref s, b + o4) &= Mask<T>(17); goto case 5;
                case 5: if (b + o5 >= end) { wheel = 5; return (int)(b + o5); } Unsafe.Add(ref s, b + o5) &= Mask<T>(19); goto case 6;
                case 6: if (b + o6 >= end) { wheel = 6; return (int)(b + o6); } Unsafe.Add(ref s, b + o6) &= Mask<T>(23); goto default;
                default: if (b + o7 >= end) { wheel = 7; return (int)(b + o7); } Unsafe.Add(ref s, b + o7) &= Mask<T>(29); break;
            }
            for (b += p, w = 0; b + o7 < end; b += p)
            {
                ref byte turn = ref Unsafe.Add(ref s, b);
                turn &= Mask<T>(1);
                Unsafe.Add(ref turn, o1) &= Mask<T>(7);
                Unsafe.Add(ref turn, o2) &= Mask<T>(11);
                Unsafe.Add(ref turn, o3) &= Mask<T>(13);
                Unsafe.Add(ref turn, o4) &= Mask<T>(17);
                Unsafe.Add(ref turn, o5) &= Mask<T>(19);
                Unsafe.Add(ref turn, o6) &= Mask<T>(23);
                Unsafe.Add(ref turn, o7) &= Mask<T>(29);
            }
        }
    }

    /// <summary>The byte mask that clears the bit of residue T.Value * r mod 30; constant-folded, because the index of
    /// each odd residue 2j + 1 is packed in 3 bits at bit 3j of one constant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Mask<T>(int r) where T : struct, IResidue =>
        (byte)~(1 << (int)((ResidueIndexBits >> (3 * (T.Value * r % 30 >> 1))) & 7));

    private const ulong ResidueIndexBits = 0UL | 1UL << 9 | 2UL << 15 | 3UL << 18 | 4UL << 24 | 5UL << 27 | 6UL << 33 | 7UL << 42;

    private interface IResidue { static abstract int Value { get; } }
    private struct R1 : IResidue { public static int Value => 1; }
    private struct R7 : IResidue { public static int Value => 7; }
    private struct R11 : IResidue { public static int Value => 11; }
    private struct R13 : IResidue { public static int Value => 13; }
    private struct R17 : IResidue { public static int Value => 17; }
    private struct R19 : IResidue { public static int Value => 19; }
    private struct R23 : IResidue { public static int Value => 23; }
    private struct R29 : IResidue { public static int Value => 29; }

    private static byte[] BuildIndexOfResidue()
    {
        var index = new byte[30];
        Array.Fill(index, (byte)255);
        for (int k = 0; k < 8; k++) index[Residues[k]] = (byte)k;
        return index;
    }
}
