using System.Diagnostics;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace JobApi.IntegrationTests;

/// <summary>Independent answers to compare the service's results with: nothing here shares code with the service.</summary>
public static class Oracles
{
    /// <summary>Count and sum of the primes in [from, to] by trial division (slow, obviously right).</summary>
    public static (long Count, BigInteger Sum) PrimesByTrialDivision(long from, long to)
    {
        long count = 0;
        BigInteger sum = 0;
        for (var n = from; n <= to; n++)
        {
            if (!JobApi.Tests.JobKinds.PrimeOracle.IsPrimeByTrialDivision(n)) continue;
            count++;
            sum += n;
        }
        return (count, sum);
    }

    public sealed record WordCounts(long TotalWords, long DistinctWords, IReadOnlyList<(string Word, long Count)> Ranked);

    /// <summary>
    /// Counts words with the GNU tools, as the contract names them:
    /// <c>LC_ALL=C tr -cs '[:alnum:]' '\n' | tr A-Z a-z | sort | uniq -c</c>, then a stable numeric sort on the
    /// count (descending) so that ties keep <c>sort</c>'s byte order. Documents are separated by a newline.
    /// The empty line <c>tr</c> makes of a leading separator is not a word and is dropped.
    /// </summary>
    public static WordCounts GnuWordCount(IEnumerable<string> documents)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, string.Join("\n", documents), new UTF8Encoding(false));
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("export LC_ALL=C; tr -cs '[:alnum:]' '\\n' < \"$1\" | tr A-Z a-z | sed '/^$/d' | sort | uniq -c | sort -s -k1,1nr");
            info.ArgumentList.Add("oracle");
            info.ArgumentList.Add(file);
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var lines = new List<(string, long)>();
            while (process.StandardOutput.ReadLine() is { } line)
            {
                var parts = line.Trim().Split(' ', 2);
                lines.Add((parts[1], long.Parse(parts[0])));
            }
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"the GNU pipeline failed: {stderr.Result}");
            return new WordCounts(lines.Sum(l => l.Item2), lines.Count, lines);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static readonly string[] Vocabulary =
    [
        "the", "The", "THE", "a", "A", "of", "and", "Redis", "redis", "shard", "Shard", "lease", "job", "jobs",
        "x1", "X1", "2024", "007", "0", "9", "abc123", "ABC123", "zeta", "alpha", "Alpha", "omega", "b", "z", "Zz",
    ];

    private static readonly string[] Separators =
    [
        " ", " ", " ", "  ", ", ", ". ", "\n", "\t", "\r\n", "-", "'", "\"", "(", ")", "_", "/", "!?", ";", ":", "@", "#", "~", "[", "]", "{", "}", "\\",
    ];

    /// <summary>A random ASCII text: words from a small vocabulary in several casings (so counts tie and merge),
    /// random alphanumeric runs (singletons), and every kind of ASCII separator, sometimes at the very start.</summary>
    public static string RandomAsciiText(Random random, int words)
    {
        var text = new StringBuilder();
        if (random.Next(2) == 0) text.Append(Separators[random.Next(Separators.Length)]);
        for (var i = 0; i < words; i++)
        {
            if (random.Next(5) == 0)
            {
                var length = random.Next(1, 9);
                for (var j = 0; j < length; j++) text.Append("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[random.Next(62)]);
            }
            else
            {
                text.Append(Vocabulary[random.Next(Vocabulary.Length)]);
            }
            text.Append(Separators[random.Next(Separators.Length)]);
            if (random.Next(4) == 0) text.Append(Separators[random.Next(Separators.Length)]);
        }
        return text.ToString();
    }

    /// <summary>The service's wordcount result equals the oracle's counts and its first <paramref name="top"/> ranked words.</summary>
    public static void AssertWordCount(Oracles.WordCounts expected, int top, JsonElement result, string context)
    {
        Assert.True(expected.TotalWords == result.GetProperty("totalWords").GetInt64(), $"totalWords {expected.TotalWords} expected ({context}): {result}");
        Assert.True(expected.DistinctWords == result.GetProperty("distinctWords").GetInt64(), $"distinctWords {expected.DistinctWords} expected ({context}): {result}");
        var actualTop = result.GetProperty("top").EnumerateArray()
            .Select(e => (e.GetProperty("word").GetString()!, e.GetProperty("count").GetInt64())).ToList();
        Assert.Equal(expected.Ranked.Take(top).ToList(), actualTop);
    }
}
