using System.Numerics;
using System.Text.Json;
using CsCheck;
using JobApi.JobKinds;
using static JobApi.Tests.JobKinds.MonteCarloOracle;

namespace JobApi.Tests.JobKinds;

public class MonteCarloTests
{
    private static readonly MonteCarlo Kind = new();

    private static string Input(long samples, long seed, double[] lo, double[] hi, object integrand) => JsonSerializer.Serialize(
        new { samples, seed, lo, hi, integrand }, JsonSerializerOptions.Web);

    private static object Json(object family) => family switch
    {
        Polynomial p => new { family = "polynomial", terms = p.Terms.Select(t => new { coef = t.Coef, powers = t.Powers }) },
        Gaussian g => new { family = "gaussian", mean = g.Mean, sigma = g.Sigma },
        Ball b => new { family = "ball", center = b.Center, radius = b.Radius },
        _ => throw new ArgumentException("unknown family", nameof(family)),
    };

    public static TheoryData<string, object, double[], double[]> Cases() => new()
    {
        { "polynomial", new Polynomial((2, [2, 0, 1]), (-1.5, [0, 3, 0]), (0.25, [1, 1, 1]), (4, [0, 0, 0])), [-1, 0, 0.5], [2, 1, 1.5] },
        { "gaussian", new Gaussian([0.3, -0.2], 0.7), [-1, -2], [1.5, 1] },
        { "ball", new Ball([0, 0, 0, 0], 1), [-1, -1, -1, -1], [1, 1, 1, 1] },
        { "off-centre ball", new Ball([5, 5, 5], 0.5), [4, 4.5, 4], [6, 5.5, 7] },
    };

    private static double Exact(object family, double[] lo, double[] hi) => family switch
    {
        Polynomial p => MonteCarloOracle.Exact(p, lo, hi),
        Gaussian g => MonteCarloOracle.Exact(g, lo, hi),
        Ball b => MonteCarloOracle.Exact(b, lo.Length),
        _ => throw new ArgumentException("unknown family", nameof(family)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_estimate_is_within_five_standard_errors_of_the_closed_form_integral(string name, object family, double[] lo, double[] hi)
    {
        var result = await KindRunner.RunAsync(Kind, Input(400_000, 7, lo, hi, Json(family)), 5);
        var (estimate, error) = (result.GetProperty("estimate").GetDouble(), result.GetProperty("standardError").GetDouble());
        Assert.True(error > 0, name);
        Assert.True(Math.Abs(estimate - Exact(family, lo, hi)) <= 5 * error, $"{name}: {estimate} ± {error}, exact {Exact(family, lo, hi)}");
        Assert.Equal(400_000, result.GetProperty("samples").GetInt64());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Any_shard_count_gives_the_bits_of_a_single_loop_with_exact_summation(string name, object family, double[] lo, double[] hi)
    {
        const long samples = 60_001;
        var (estimate, mean, meanOfSquares) = SingleLoop(family, lo, hi, 11, samples);
        var volume = MonteCarlo.Volume(lo, hi);
        var expectedError = volume * Math.Sqrt((meanOfSquares - mean * mean) * samples / (samples - 1) / samples);
        double? firstError = null;
        foreach (var shards in new[] { 1, 3, 7, 64 })
        {
            var result = await KindRunner.RunAsync(Kind, Input(samples, 11, lo, hi, Json(family)), shards);
            Assert.Equal(BitConverter.DoubleToInt64Bits(estimate), BitConverter.DoubleToInt64Bits(result.GetProperty("estimate").GetDouble()));
            var error = result.GetProperty("standardError").GetDouble();
            Assert.Equal(firstError ?? error, error); // bit-identical too
            firstError = error;
            Assert.True(Math.Abs(error - expectedError) <= 1e-9 * expectedError, $"{name}: standard error {error}, expected {expectedError}");
        }
    }

    [Fact]
    public void Random_polynomials_on_random_boxes_give_the_same_bits_for_any_shard_count()
    {
        var terms = Gen.Select(Gen.Double[-100, 100], Gen.Int[0, 4].Array[3]).Array[1, 6];
        var box = Gen.Select(Gen.Double[-10, 10].Array[3], Gen.Double[0.001, 5].Array[3]);
        Gen.Select(terms, box, Gen.Long, Gen.Int[2, 40], Gen.Int[2, 3000]).Sample((t, b, seed, shards, samples) =>
        {
            var lo = b.Item1;
            var hi = lo.Zip(b.Item2, (l, w) => l + w).ToArray();
            var input = Input(samples, seed, lo, hi, new { family = "polynomial", terms = t.Select(x => new { coef = x.Item1, powers = x.Item2 }) });
            var one = KindRunner.RunAsync(Kind, input, 1).GetAwaiter().GetResult();
            var many = KindRunner.RunAsync(Kind, input, shards).GetAwaiter().GetResult();
            Assert.Equal(one.GetRawText(), many.GetRawText());
        }, iter: 150, threads: 1);
    }

    [Fact]
    public void The_exact_sum_equals_a_big_integer_sum_for_any_split_and_order()
    {
        var values = Gen.Frequency((3, Gen.Double[-1e6, 1e6]), (1, Gen.Double.Where(double.IsFinite)), (1, Gen.Double[-1e-300, 1e-300]));
        Gen.Select(values.Array[0, 200], Gen.Int[0, 200]).Sample((v, cut) =>
        {
            cut = Math.Min(cut, v.Length);
            var expected = v.Aggregate(BigInteger.Zero, (s, x) => s + Units(x));
            ExactSum left = new(), right = new();
            foreach (var x in v[..cut]) left.Add(x);
            foreach (var x in v[cut..].Reverse()) right.Add(x);
            Assert.Equal(expected, left.ToInteger() + right.ToInteger());
            Assert.Equal(BitConverter.DoubleToInt64Bits(Rounded(expected)), BitConverter.DoubleToInt64Bits(ExactSum.ToDouble(expected)));
        }, iter: 500, threads: 1);
    }

    [Fact]
    public void Sums_of_values_that_cancel_stay_exact()
    {
        var sum = new ExactSum();
        foreach (var v in new[] { 1e300, 1.0, -1e300, 1e-300, 3.0, -1e-300 }) sum.Add(v);
        Assert.Equal(4.0, ExactSum.ToDouble(sum.ToInteger()));
        Assert.Throws<ArithmeticException>(() => sum.Add(double.NaN));
    }

    [Fact]
    public void Portable_exp_is_within_two_units_in_the_last_place_of_the_platform_exp()
    {
        Gen.Double[-700, 700].Sample(x =>
        {
            var expected = Math.Exp(x);
            Assert.True(Math.Abs(PortableMath.Exp(x) - expected) <= 2 * Math.BitIncrement(expected) - 2 * expected, $"exp({x})");
        }, iter: 20_000, threads: 1);
        Assert.Equal(1.0, PortableMath.Exp(0));
        Assert.Equal(0.0, PortableMath.Exp(-800));
    }

    [Fact]
    public async Task More_terms_than_the_limit_is_an_error_on_terms()
    {
        var terms = Enumerable.Repeat(new { coef = 1.0, powers = new[] { 1 } }, MonteCarloInputValidator.MaxTerms + 1);
        var plan = await KindRunner.PlanAsync(Kind, Input(10, 0, [0], [1], new { family = "polynomial", terms }));
        Assert.Contains("'integrand.terms'", Assert.Single(plan.Errors!["input.integrand.terms"]));
    }

    [Fact]
    public async Task Different_seeds_give_different_estimates()
    {
        var ball = Json(new Ball([0, 0], 1));
        var a = await KindRunner.RunAsync(Kind, Input(10_000, 1, [-1, -1], [1, 1], ball), 1);
        var b = await KindRunner.RunAsync(Kind, Input(10_000, 2, [-1, -1], [1, 1], ball), 1);
        Assert.NotEqual(a.GetProperty("estimate").GetDouble(), b.GetProperty("estimate").GetDouble());
    }
}
