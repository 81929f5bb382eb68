using System.Globalization;
using System.Numerics;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

/// <summary>Independent references for <c>montecarlo</c>: closed-form integrals of each family, and a second
/// implementation written from the documented definition alone: one plain loop over every sample, the exact sum kept
/// in a <see cref="BigInteger"/>, rounded to a double by parsing its exact decimal expansion.</summary>
internal static class MonteCarloOracle
{
    public sealed record Polynomial(params (double Coef, int[] Powers)[] Terms);
    public sealed record Gaussian(double[] Mean, double Sigma);
    public sealed record Ball(double[] Center, double Radius);

    /// <summary>The integrand as documented, evaluated point by point.</summary>
    public static double F(object family, double[] x)
    {
        switch (family)
        {
            case Polynomial p:
                var f = 0.0;
                foreach (var (coef, powers) in p.Terms)
                {
                    var t = coef;
                    for (var j = 0; j < x.Length; j++)
                        for (var k = 0; k < powers[j]; k++) t *= x[j];
                    f += t;
                }
                return f;
            case Gaussian g:
                var s = 0.0;
                for (var j = 0; j < x.Length; j++) s += (x[j] - g.Mean[j]) * (x[j] - g.Mean[j]);
                var c = 2 * Math.PI * g.Sigma * g.Sigma;
                var power = 1.0;
                for (var i = 0; i < x.Length / 2; i++) power *= c;
                if (x.Length % 2 == 1) power *= Math.Sqrt(c);
                return PortableMath.Exp(-s / (2 * g.Sigma * g.Sigma)) * (1 / power);
            case Ball b:
                var r2 = 0.0;
                for (var j = 0; j < x.Length; j++) r2 += (x[j] - b.Center[j]) * (x[j] - b.Center[j]);
                return r2 <= b.Radius * b.Radius ? 1 : 0;
            default:
                throw new ArgumentException("unknown family", nameof(family));
        }
    }

    /// <summary>The estimate V · (S / n) by one loop over samples 0..n-1, S summed exactly.</summary>
    public static (double Estimate, double Mean, double MeanOfSquares) SingleLoop(object family, double[] lo, double[] hi, long seed, long n)
    {
        var d = lo.Length;
        var seedBase = CounterRng.Base(seed);
        BigInteger sum = 0, squares = 0;
        var x = new double[d];
        for (long i = 0; i < n; i++)
        {
            for (var j = 0; j < d; j++)
            {
                var u = (CounterRng.At(seedBase, i * d + j) >> 11) / 9007199254740992.0;
                x[j] = lo[j] + (hi[j] - lo[j]) * u;
            }
            var f = F(family, x);
            sum += Units(f);
            squares += Units(f * f);
        }
        var volume = 1.0;
        for (var j = 0; j < d; j++) volume *= hi[j] - lo[j];
        return (Rounded(sum) / n * volume, Rounded(sum) / n, Rounded(squares) / n);
    }

    /// <summary>A double as an exact integer multiple of 2^-1074.</summary>
    public static BigInteger Units(double v)
    {
        if (v == 0) return BigInteger.Zero;
        var bits = BitConverter.DoubleToInt64Bits(v);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = new BigInteger(bits & 0xF_FFFF_FFFF_FFFF);
        var units = exponent == 0 ? mantissa : (mantissa + (BigInteger.One << 52)) << (exponent - 1);
        return v < 0 ? -units : units;
    }

    /// <summary>units · 2^-1074 correctly rounded: the decimal expansion (units · 5^1074 / 10^1074) parsed by .NET.</summary>
    public static double Rounded(BigInteger units)
    {
        var digits = (BigInteger.Abs(units) * BigInteger.Pow(5, 1074)).ToString(CultureInfo.InvariantCulture).PadLeft(1075, '0');
        var text = (units.Sign < 0 ? "-" : "") + digits[..^1074] + "." + digits[^1074..];
        return double.Parse(text, CultureInfo.InvariantCulture);
    }

    /// <summary>∫ over the box of Σ coef Π x_j^p_j = Σ coef Π (hi^(p+1) − lo^(p+1)) / (p+1).</summary>
    public static double Exact(Polynomial p, double[] lo, double[] hi) =>
        p.Terms.Sum(t => t.Coef * Enumerable.Range(0, lo.Length).Aggregate(1.0, (acc, j) =>
            acc * (Math.Pow(hi[j], t.Powers[j] + 1) - Math.Pow(lo[j], t.Powers[j] + 1)) / (t.Powers[j] + 1)));

    /// <summary>The normal mass in the box: a product of 1-D masses, each by Simpson's rule on 200,000 intervals.</summary>
    public static double Exact(Gaussian g, double[] lo, double[] hi) =>
        Enumerable.Range(0, lo.Length).Aggregate(1.0, (acc, j) => acc * Simpson(
            t => Math.Exp(-(t - g.Mean[j]) * (t - g.Mean[j]) / (2 * g.Sigma * g.Sigma)) / (g.Sigma * Math.Sqrt(2 * Math.PI)), lo[j], hi[j], 200_000));

    /// <summary>The volume of the d-ball (inside the box): V_d = V_(d−2) · 2π r² / d, V_0 = 1, V_1 = 2r.</summary>
    public static double Exact(Ball b, int d) => d switch
    {
        0 => 1,
        1 => 2 * b.Radius,
        _ => Exact(b, d - 2) * 2 * Math.PI * b.Radius * b.Radius / d,
    };

    private static double Simpson(Func<double, double> f, double a, double b, int intervals)
    {
        var h = (b - a) / intervals;
        var s = f(a) + f(b);
        for (var i = 1; i < intervals; i++) s += f(a + i * h) * (i % 2 == 1 ? 4 : 2);
        return s * h / 3;
    }
}
