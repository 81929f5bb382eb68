using System.Numerics;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

/// <summary>The edges of the sieve's layout (30 numbers per byte, segments of <see cref="PrimeSieve.SegmentBytes"/>
/// bytes) against oracles that share nothing with it: trial division, Miller-Rabin and the former odd-only sieve.</summary>
public class PrimeSieveTests
{
    private const long Max = PrimeSieve.MaxLimit;

    private static (long Count, BigInteger Sum) Sieve(long from, long to)
    {
        var (count, sum) = PrimeSieve.CountAndSum(from, to, CancellationToken.None);
        return (count, sum);
    }

    private static (long Count, BigInteger Sum) Reference(long from, long to)
    {
        var (count, sum) = OddOnlySieveReference.CountAndSum(from, to, CancellationToken.None);
        return (count, sum);
    }

    /// <summary>Every range [from, to] with both ends inside [first, first + span), checked against prefix sums of
    /// <paramref name="isPrime"/> over that window.</summary>
    private static void AssertEveryRangeInWindow(long first, int span, int maxLength, Func<long, bool> isPrime)
    {
        var prefixCount = new long[span + 1];
        var prefixSum = new BigInteger[span + 1];
        for (int i = 0; i < span; i++)
        {
            bool prime = isPrime(first + i);
            prefixCount[i + 1] = prefixCount[i] + (prime ? 1 : 0);
            prefixSum[i + 1] = prefixSum[i] + (prime ? first + i : 0);
        }
        for (int a = 0; a < span; a++)
        {
            for (int b = a; b < Math.Min(span, a + maxLength); b++)
            {
                var expected = (prefixCount[b + 1] - prefixCount[a], prefixSum[b + 1] - prefixSum[a]);
                Assert.True(expected == Sieve(first + a, first + b), $"[{first + a}, {first + b}]");
            }
        }
    }

    [Fact]
    public void Every_range_with_both_ends_below_two_hundred_matches_trial_division() =>
        AssertEveryRangeInWindow(0, 200, 200, PrimeOracle.IsPrimeByTrialDivision);

    [Theory]
    [InlineData(1_000_000 - 40)]
    [InlineData(Max - 69)]
    public void Every_start_and_end_residue_of_short_ranges_matches_miller_rabin(long first) =>
        AssertEveryRangeInWindow(first, (int)Math.Min(70, Max - first + 1), 70, PrimeOracle.IsPrimeByMillerRabin);

    [Fact]
    public void Random_short_ranges_at_any_residue_match_miller_rabin()
    {
        var random = new Random(30);
        for (int i = 0; i < 1500; i++)
        {
            long from = (i % 3) switch
            {
                0 => random.Next(0, 100_000),
                1 => random.NextInt64(0, 1_000_000_000_000),
                _ => Max - random.Next(0, 10_000_000),
            };
            long to = Math.Min(Max, from + random.Next(0, i % 10 == 0 ? 400 : 70));
            Assert.True(PrimeOracle.CountAndSum(from, to, PrimeOracle.IsPrimeByMillerRabin) == Sieve(from, to), $"[{from}, {to}]");
        }
    }

    [Fact]
    public void The_last_million_numbers_below_ten_to_the_twelfth_match_miller_rabin()
    {
        const long from = Max - 1_000_000;
        Assert.Equal(PrimeOracle.CountAndSum(from, Max, PrimeOracle.IsPrimeByMillerRabin), Sieve(from, Max));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100_000_000_017)]
    [InlineData(10_000_000_007)]
    public void Ranges_ending_at_every_residue_around_a_segment_boundary_match_the_odd_only_sieve(long from)
    {
        long boundary = 30 * (from / 30 + PrimeSieve.SegmentBytes); // where the sieve's second segment begins
        for (long to = boundary - 31; to <= boundary + 31; to++)
        {
            long start = from + (to - boundary + 31) % 30; // the start walks through residues as well
            Assert.True(Reference(start, to) == Sieve(start, to), $"[{start}, {to}]");
        }
    }

    [Theory]
    [InlineData(0, 200_000_000)]
    [InlineData(100_000_000_000, 100_050_000_000)]
    [InlineData(Max - 30_000_000, Max)]
    [InlineData(123_456_789, 987_654_321)]
    public void Long_ranges_match_the_odd_only_sieve(long from, long to) =>
        Assert.Equal(Reference(from, to), Sieve(from, to));

    [Fact]
    public void Vector_and_word_counts_agree_on_random_segments()
    {
        var random = new Random(32);
        for (int i = 0; i < 200; i++)
        {
            var segment = new byte[32 * random.Next(1, 300)];
            random.NextBytes(segment);
            if (i % 2 == 0) Array.Fill(segment, (byte)0xFF, 0, random.Next(segment.Length)); // dense runs too
            long byte0 = random.NextInt64(0, Max / 30 - segment.Length);
            Assert.Equal(PrimeSegment.CountAndSumWords(segment, byte0), PrimeSegment.CountAndSum(segment, byte0));
        }
    }

    [Fact]
    public void The_former_sieve_used_as_reference_knows_pi_of_ten_to_the_eighth() =>
        Assert.Equal((5_761_455L, BigInteger.Parse("279209790387276")), Reference(0, 100_000_000));
}
