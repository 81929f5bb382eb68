using FluentValidation;
using FluentValidation.Results;

namespace JobApi.JobKinds;

/// <summary>Input of <c>montecarlo</c>: integrate <see cref="Integrand"/> over the box [lo_j, hi_j] with
/// <c>samples</c> random points of the stream <c>seed</c>.</summary>
public sealed record MonteCarloInput(long? Samples, long? Seed, double[]? Lo, double[]? Hi, IntegrandSpec? Integrand);

/// <summary>Bounds that keep every value of every family finite, also squared and summed over 10^12 samples.</summary>
public sealed class MonteCarloInputValidator : AbstractValidator<MonteCarloInput>
{
    public const int MaxDimension = 16, MaxTerms = 64, MaxDegree = 32;
    public const double MaxBound = 1000, MaxCoefficient = 1e9, MinSigma = 1e-3, MaxSigma = 1e3, MaxRadius = 1e4;

    public MonteCarloInputValidator()
    {
        RuleFor(x => x.Samples).NotNull().WithMessage("'samples' is required.")
            .InclusiveBetween(2, MonteCarloPi.MaxSamples).WithMessage($"'samples' must be between 2 and {MonteCarloPi.MaxSamples} (the standard error needs two).");
        RuleFor(x => x.Lo).Must(Coordinates).WithMessage(CoordinatesMessage("lo"));
        RuleFor(x => x.Hi).Must(Coordinates).WithMessage(CoordinatesMessage("hi"));
        RuleFor(x => x).Custom(Box);
        RuleFor(x => x.Integrand).NotNull().WithMessage("'integrand' is required: { \"family\": \"polynomial\" | \"gaussian\" | \"ball\", ... }.");
        RuleFor(x => x).Custom(IntegrandFields).When(x => x.Integrand is not null && Coordinates(x.Lo));
    }

    private static bool Coordinates(double[]? v) => v is { Length: >= 1 and <= MaxDimension } && v.All(Bounded);

    private static bool Bounded(double v) => Math.Abs(v) <= MaxBound;

    private static string CoordinatesMessage(string name) =>
        $"'{name}' must be 1 to {MaxDimension} numbers (one per dimension) between -{MaxBound} and {MaxBound}.";

    private static void Box(MonteCarloInput x, ValidationContext<MonteCarloInput> context)
    {
        if (!Coordinates(x.Lo) || !Coordinates(x.Hi)) return;
        if (x.Hi!.Length != x.Lo!.Length)
        {
            context.AddFailure(new ValidationFailure("hi", $"'hi' must have as many entries as 'lo' ({x.Lo.Length})."));
            return;
        }
        for (var j = 0; j < x.Lo.Length; j++)
            if (!(x.Lo[j] < x.Hi[j])) context.AddFailure(new ValidationFailure($"hi[{j}]", $"'hi[{j}]' must be greater than 'lo[{j}]'."));
    }

    private static void IntegrandFields(MonteCarloInput x, ValidationContext<MonteCarloInput> context)
    {
        var spec = x.Integrand!;
        var d = x.Lo!.Length;
        void Fail(string field, string message) => context.AddFailure(new ValidationFailure($"integrand.{field}", message));
        void Unused(object? value, string field)
        {
            if (value is not null) Fail(field, $"'integrand.{field}' is not used by family '{spec.Family}'.");
        }
        void Point(double[]? v, string field, bool required)
        {
            if (v is null ? required : v.Length != d || !v.All(Bounded))
                Fail(field, $"'integrand.{field}' must be {d} numbers (one per dimension) between -{MaxBound} and {MaxBound}.");
        }

        switch (spec.Family)
        {
            case Integrand.Polynomial:
                Unused(spec.Mean, "mean"); Unused(spec.Sigma, "sigma"); Unused(spec.Center, "center"); Unused(spec.Radius, "radius");
                if (spec.Terms is not { Length: >= 1 and <= MaxTerms }) { Fail("terms", $"'integrand.terms' must be 1 to {MaxTerms} terms."); break; }
                for (var i = 0; i < spec.Terms.Length; i++)
                {
                    var term = spec.Terms[i];
                    if (term?.Coef is not { } coef || Math.Abs(coef) > MaxCoefficient)
                        Fail($"terms[{i}].coef", $"'integrand.terms[{i}].coef' is required, between -{MaxCoefficient} and {MaxCoefficient}.");
                    if (term?.Powers is not { } powers || powers.Length != d || powers.Any(p => p is < 0 or > MaxDegree) || powers.Sum() > MaxDegree)
                        Fail($"terms[{i}].powers", $"'integrand.terms[{i}].powers' must be {d} non-negative integers (one per dimension) adding up to at most {MaxDegree}.");
                }
                break;
            case Integrand.Gaussian:
                Unused(spec.Terms, "terms"); Unused(spec.Center, "center"); Unused(spec.Radius, "radius");
                Point(spec.Mean, "mean", required: true);
                if (spec.Sigma is not (>= MinSigma and <= MaxSigma)) Fail("sigma", $"'integrand.sigma' is required, between {MinSigma} and {MaxSigma}.");
                break;
            case Integrand.Ball:
                Unused(spec.Terms, "terms"); Unused(spec.Mean, "mean"); Unused(spec.Sigma, "sigma");
                Point(spec.Center, "center", required: false);
                if (spec.Radius is not (> 0 and <= MaxRadius)) Fail("radius", $"'integrand.radius' is required, above 0 and at most {MaxRadius}.");
                break;
            default:
                Fail("family", $"'integrand.family' must be one of {string.Join(", ", Integrand.Families.Select(f => $"'{f}'"))}.");
                break;
        }
    }
}
