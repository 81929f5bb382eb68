using System.Text.Json;

namespace JobApi.IntegrationTests.Faults;

/// <summary>
/// What one fault scenario measured, appended as one JSON line to the reliability log: <c>JOBAPI_FAULT_REPORT</c>
/// when set, else <c>TestResults/fault-report.jsonl</c> at the repository root. <c>scripts/reliability-report.py</c>
/// turns the log into the table of docs/RELIABILITY.md.
/// </summary>
public sealed class FaultTally(string fault)
{
    private readonly List<double> _recoveryMs = [];
    private readonly Lock _gate = new();

    public string Fault { get; } = fault;
    public int Injected { get; private set; }
    public int JobsAccepted { get; private set; }
    public int JobsLost { get; private set; }
    public long DuplicateCommits { get; private set; }
    public long Attempts { get; private set; }
    public long Commits { get; private set; }
    public long Shards { get; private set; }

    public void Inject(int count = 1) { lock (_gate) Injected += count; }

    public void Recovered(TimeSpan elapsed) { lock (_gate) _recoveryMs.Add(elapsed.TotalMilliseconds); }

    /// <summary>An accepted job that ended as it should (its counters read from Redis).</summary>
    public void Job(JobCounters c)
    {
        lock (_gate)
        {
            JobsAccepted++;
            Attempts += c.Attempts;
            Commits += c.Commits;
            Shards += c.Total;
            DuplicateCommits += Math.Max(0, c.Commits - c.Succeeded);
        }
    }

    /// <summary>An accepted job that is gone or did not end with its exact result.</summary>
    public void Lost() { lock (_gate) { JobsAccepted++; JobsLost++; } }

    /// <summary>Appends this tally as a JSON line; returns the line (also worth printing in the test output).</summary>
    public string Write(IReadOnlyDictionary<string, object>? extra = null)
    {
        double[] sorted;
        lock (_gate) sorted = [.. _recoveryMs.Order()];
        var line = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["fault"] = Fault, ["mode"] = FaultMode.Soak ? "soak" : "ci", ["at"] = DateTime.UtcNow.ToString("O"),
            ["injected"] = Injected, ["jobsAccepted"] = JobsAccepted, ["jobsLost"] = JobsLost, ["duplicateCommits"] = DuplicateCommits,
            ["shards"] = Shards, ["rawExecutions"] = Attempts, ["commits"] = Commits, ["reExecutions"] = Attempts - Commits,
            ["recoveryMs"] = sorted.Select(v => Math.Round(v, 1)).ToArray(),
            ["recoveryP50Ms"] = Percentile(sorted, 0.50), ["recoveryP99Ms"] = Percentile(sorted, 0.99),
            ["extra"] = extra,
        });
        var path = FaultMode.ReportPath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        lock (typeof(FaultTally)) File.AppendAllText(path, line + "\n");
        return line;
    }

    /// <summary>Nearest-rank percentile; null without samples.</summary>
    private static double? Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? null : Math.Round(sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)], 1);
}

/// <summary>CI mode (the default test command: bounded) or soak mode (<c>JOBAPI_SOAK=1</c>: many more faults and jobs).</summary>
public static class FaultMode
{
    public static bool Soak => Environment.GetEnvironmentVariable("JOBAPI_SOAK") == "1";

    /// <summary>The CI figure, or the soak figure in soak mode.</summary>
    public static int Scale(int ci, int soak) => Soak ? soak : ci;

    public static string ReportPath
    {
        get
        {
            var chosen = Environment.GetEnvironmentVariable("JOBAPI_FAULT_REPORT");
            if (!string.IsNullOrEmpty(chosen)) return Path.GetFullPath(chosen);
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "JobApi.sln"))) return Path.Combine(dir.FullName, "TestResults", "fault-report.jsonl");
            return Path.Combine(AppContext.BaseDirectory, "fault-report.jsonl");
        }
    }
}
