namespace JobApi.JobKinds;

/// <summary>Functions computed with IEEE-754 +, −, ×, ÷ and exact scaling only, so every machine and runtime gets the
/// same bits (the platform's <see cref="Math.Exp"/> comes from its C library, which may differ in the last bit, and
/// workers of one job may run on different machines).</summary>
public static class PortableMath
{
    private const double Ln2Hi = 6.93147180369123816490e-01; // ln 2 with its low 21 bits zero: k · Ln2Hi is exact for |k| < 2^11
    private const double Ln2Lo = 1.90821492927058770002e-10;
    private const double InvLn2 = 1.44269504088896338700e+00;
    private static readonly double[] InverseFactorials = Enumerable.Range(0, 15).Select(InverseFactorial).ToArray();

    /// <summary>e^x within a few units in the last place: x = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor
    /// polynomial of degree 14 (truncation error below 2^-60), then scaled by 2^k.</summary>
    public static double Exp(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x > 709.78) return double.PositiveInfinity;
        if (x < -745.2) return 0.0;
        var k = Math.Round(x * InvLn2);
        var r = x - k * Ln2Hi - k * Ln2Lo;
        var p = InverseFactorials[^1];
        for (var i = InverseFactorials.Length - 2; i >= 0; i--) p = p * r + InverseFactorials[i];
        return Math.ScaleB(p, (int)k);
    }

    private static double InverseFactorial(int n)
    {
        var f = 1.0;
        for (var i = 2; i <= n; i++) f *= i; // exact up to 22!
        return 1.0 / f;
    }
}
