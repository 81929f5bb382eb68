using System.Globalization;
using System.Numerics;

namespace JobApi.JobKinds;

/// <summary>
/// The exact sum of any number of finite doubles (a superaccumulator): every double is an integer multiple of
/// 2^-1074, so the sum is kept as an integer in units of 2^-1074, in 32-bit digits held in 64-bit limbs whose
/// carries are propagated only every 2^30 additions. Addition is exact, hence associative: how the values are
/// split between shards and in which order the parts are combined cannot change the total.
/// </summary>
public sealed class ExactSum
{
    /// <summary>The sum's unit is 2^-<see cref="Scale"/>, the smallest subnormal double.</summary>
    public const int Scale = 1074;
    private const int Limbs = 67; // 2046 + 85 bits of shifted mantissa, in 32-bit digits, plus carry room
    private const int NormalizeEvery = 1 << 30; // a limb takes at most 2^31 additions below 2^32 before it could overflow
    private readonly long[] _limbs = new long[Limbs];
    private int _pending;

    /// <summary>Adds <paramref name="value"/> exactly; throws on NaN and infinities, which have no exact sum.</summary>
    public void Add(double value)
    {
        var bits = BitConverter.DoubleToInt64Bits(value);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xF_FFFF_FFFF_FFFF;
        if (exponent == 0x7FF) throw new ArithmeticException("The sum of a NaN or an infinity is not exact.");
        if (exponent == 0 && mantissa == 0) return;
        if (exponent != 0) mantissa |= 1L << 52;
        var shift = Math.Max(exponent - 1, 0); // value = mantissa · 2^(shift - 1074)
        var limb = shift >> 5;
        var spread = (UInt128)(ulong)mantissa << (shift & 31);
        long d0 = (long)(uint)spread, d1 = (long)(uint)(spread >> 32), d2 = (long)(ulong)(spread >> 64);
        if (bits < 0)
        {
            _limbs[limb] -= d0; _limbs[limb + 1] -= d1; _limbs[limb + 2] -= d2;
        }
        else
        {
            _limbs[limb] += d0; _limbs[limb + 1] += d1; _limbs[limb + 2] += d2;
        }
        if (++_pending == NormalizeEvery) Normalize();
    }

    /// <summary>The sum as an integer in units of 2^-1074.</summary>
    public BigInteger ToInteger()
    {
        Normalize();
        var total = BigInteger.Zero;
        for (var i = Limbs - 1; i >= 0; i--) total = (total << 32) + _limbs[i];
        return total;
    }

    private void Normalize()
    {
        for (var i = 0; i < Limbs - 1; i++)
        {
            var carry = _limbs[i] >> 32; // arithmetic shift: the digit left behind is in [0, 2^32)
            _limbs[i] -= carry << 32;
            _limbs[i + 1] += carry;
        }
        _pending = 0;
    }

    /// <summary><paramref name="units"/> · 2^-<paramref name="scale"/> rounded to the nearest double (ties to even; results in
    /// the subnormal range may be rounded twice). A function of the exact value only.</summary>
    public static double ToDouble(BigInteger units, int scale = Scale)
    {
        var (mantissa, exponent) = Split(units);
        return Math.ScaleB(mantissa, exponent - scale);
    }

    /// <summary>Splits <paramref name="value"/> into a double <c>m</c> correctly rounded to 53 bits and an exponent <c>e</c> with
    /// value ≈ m · 2^e, so that huge integers can be divided and square-rooted without overflowing a double.</summary>
    public static (double Mantissa, int Exponent) Split(BigInteger value)
    {
        var magnitude = BigInteger.Abs(value);
        var length = (int)magnitude.GetBitLength();
        if (length <= 63) return ((double)(long)value, 0);
        var drop = length - 63;
        var top = (long)(magnitude >> drop);
        if (!(magnitude & ((BigInteger.One << drop) - 1)).IsZero) top |= 1; // sticky bit: rounding below it stays correct
        return (value.Sign * (double)top, drop);
    }

    public static string Format(BigInteger units) => units.ToString(CultureInfo.InvariantCulture);

    public static BigInteger Parse(string units) => BigInteger.Parse(units, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
