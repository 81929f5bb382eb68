namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// The oracle for the primes kind: a plain segmented sieve of Eratosthenes with one byte per number,
/// visiting every prime one by one. Deliberately unlike the service's sieve (odd-only bits, presieved
/// pattern, popcount sums), so a shared mistake is unlikely.
/// </summary>
public static class PrimeOracle
{
    public static (long Count, long Sum) CountAndSum(long n)
    {
        if (n < 2) return (0, 0);
        var root = (int)Math.Sqrt(n);
        while ((long)(root + 1) * (root + 1) <= n) root++;
        while ((long)root * root > n) root--;

        var composite = new bool[root + 1];
        var basePrimes = new List<int>();
        for (var i = 2; i <= root; i++)
        {
            if (composite[i]) continue;
            basePrimes.Add(i);
            for (var j = (long)i * i; j <= root; j += i) composite[j] = true;
        }

        const int segmentSize = 1 << 18;
        var segment = new bool[segmentSize];
        long count = 0, sum = 0;
        for (long low = 2; low <= n; low += segmentSize)
        {
            var high = Math.Min(low + segmentSize - 1, n);
            Array.Clear(segment);
            foreach (var p in basePrimes)
            {
                var start = Math.Max((long)p * p, (low + p - 1) / p * p);
                for (var j = start; j <= high; j += p) segment[j - low] = true;
            }
            for (var x = low; x <= high; x++)
            {
                if (segment[x - low]) continue;
                count++;
                sum = checked(sum + x);
            }
        }
        return (count, sum);
    }
}
