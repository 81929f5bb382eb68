namespace JobApi.JobKinds;

/// <summary>The function a <c>montecarlo</c> job integrates, from a closed family chosen by name; only the fields of
/// that family may be given. Nothing is parsed from strings and no type name is read from the input.</summary>
/// <param name="Family"><c>polynomial</c>, <c>gaussian</c> or <c>ball</c></param>
/// <param name="Terms">polynomial: the monomials, summed</param>
/// <param name="Mean">gaussian: the centre, one value per dimension</param>
/// <param name="Sigma">gaussian: the standard deviation of every coordinate</param>
/// <param name="Center">ball: the centre (default the origin)</param>
/// <param name="Radius">ball: the radius</param>
public sealed record IntegrandSpec(string? Family, MonomialTerm[]? Terms, double[]? Mean, double? Sigma, double[]? Center, double? Radius);

/// <summary>One monomial <c>coef · x_0^powers[0] · … · x_(d-1)^powers[d-1]</c>.</summary>
public sealed record MonomialTerm(double? Coef, int[]? Powers);

/// <summary>
/// A validated integrand, evaluated with IEEE-754 +, −, × and <see cref="PortableMath.Exp"/> only, in a fixed order,
/// so that a point gives the same bits on every machine:
/// <list type="bullet">
/// <item><c>polynomial</c>: f = 0 + t_0 + t_1 + …, each term t = coef · x_0 ·…· x_0 · x_1 ·… (each x_j multiplied in
/// powers[j] times, j ascending, left to right).</item>
/// <item><c>gaussian</c>: the normal density with mean m and covariance σ²·I: s = Σ_j (x_j − m_j)² (j ascending),
/// f = exp(−s / (2σ²)) · norm, norm = 1 / (c^⌊d/2⌋ · √c^(d mod 2)) with c = 2πσ².</item>
/// <item><c>ball</c>: f = 1 when Σ_j (x_j − c_j)² ≤ r² (j ascending), else 0.</item>
/// </list>
/// </summary>
public abstract class Integrand
{
    public const string Polynomial = "polynomial", Gaussian = "gaussian", Ball = "ball";
    public static readonly string[] Families = [Polynomial, Gaussian, Ball];

    public abstract double At(ReadOnlySpan<double> x);

    /// <summary>The integrand of a spec that passed <see cref="MonteCarloInputValidator"/>.</summary>
    public static Integrand From(IntegrandSpec spec, int dimension) => spec.Family switch
    {
        Polynomial => new PolynomialIntegrand(spec.Terms!.Select(t => (t.Coef!.Value, t.Powers!)).ToArray()),
        Gaussian => new GaussianIntegrand(spec.Mean!, spec.Sigma!.Value),
        Ball => new BallIntegrand(spec.Center ?? new double[dimension], spec.Radius!.Value),
        _ => throw new InvalidOperationException($"montecarlo: unknown integrand family '{spec.Family}'."),
    };

    private static double SquaredDistance(ReadOnlySpan<double> x, double[] centre)
    {
        var s = 0.0;
        for (var j = 0; j < x.Length; j++)
        {
            var t = x[j] - centre[j];
            s += t * t;
        }
        return s;
    }

    private sealed class PolynomialIntegrand((double Coef, int[] Powers)[] terms) : Integrand
    {
        public override double At(ReadOnlySpan<double> x)
        {
            var f = 0.0;
            foreach (var (coef, powers) in terms)
            {
                var t = coef;
                for (var j = 0; j < powers.Length; j++)
                    for (var k = 0; k < powers[j]; k++) t *= x[j];
                f += t;
            }
            return f;
        }
    }

    private sealed class GaussianIntegrand : Integrand
    {
        private readonly double[] _mean;
        private readonly double _twoSigmaSquared, _norm;

        public GaussianIntegrand(double[] mean, double sigma)
        {
            _mean = mean;
            _twoSigmaSquared = 2 * sigma * sigma;
            var c = 2 * Math.PI * sigma * sigma;
            var power = 1.0;
            for (var i = 0; i < mean.Length / 2; i++) power *= c;
            if (mean.Length % 2 == 1) power *= Math.Sqrt(c); // IEEE-754 square root: correctly rounded everywhere
            _norm = 1 / power;
        }

        public override double At(ReadOnlySpan<double> x) => PortableMath.Exp(-SquaredDistance(x, _mean) / _twoSigmaSquared) * _norm;
    }

    private sealed class BallIntegrand(double[] centre, double radius) : Integrand
    {
        private readonly double _radiusSquared = radius * radius;

        public override double At(ReadOnlySpan<double> x) => SquaredDistance(x, centre) <= _radiusSquared ? 1.0 : 0.0;
    }
}
