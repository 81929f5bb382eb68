using System.Diagnostics;
using JobApi.Options;
using Microsoft.Extensions.Options;

namespace JobApi.Engine;

/// <summary>
/// Test-only crash points for the fault suite: the process SIGKILLs itself at a chosen moment (right after a
/// commit returned, in the middle of a merge or of a submit), which no outside signal can hit reliably.
/// <c>JobApi:Faults</c> is honoured only when the environment variable <c>JOBAPI_FAULT_INJECTION</c> is
/// <c>enabled</c> as well: a configuration file alone can never arm it.
/// </summary>
public sealed class FaultInjection
{
    public const string EnableVariable = "JOBAPI_FAULT_INJECTION";
    private readonly FaultOptions _faults;
    private int _commits;

    public FaultInjection(IOptions<JobApiOptions> options)
    {
        var configured = options.Value.Faults;
        Armed = configured.IsSet && Environment.GetEnvironmentVariable(EnableVariable) == "enabled";
        _faults = Armed ? configured : new FaultOptions();
        if (Armed) Console.Error.WriteLine($"JobApi: FAULT INJECTION ARMED ({configured}); this process will crash on purpose.");
        else if (configured.IsSet) Console.Error.WriteLine($"JobApi: JobApi:Faults is ignored ({EnableVariable} is not 'enabled').");
    }

    public bool Armed { get; }

    /// <summary>Called once a commit script has returned, before the worker acts on the answer.</summary>
    public void AfterCommit()
    {
        if (_faults.CrashAfterCommits > 0 && Interlocked.Increment(ref _commits) == _faults.CrashAfterCommits) Crash("after a commit");
    }

    /// <summary>Called by a merger holding the merge lease, after it read and merged the results, before it stores them.</summary>
    public void BeforeMergeStored()
    {
        if (_faults.CrashInMerge) Crash("in a merge");
    }

    /// <summary>Called at a stage of a submit: "claimed" (idempotency record written, job not yet), "created" (job written,
    /// not yet in rotation) or "ran-ahead" (the lone shard ran in the submit, nothing written yet).</summary>
    public void InSubmit(string stage)
    {
        if (_faults.CrashInSubmit == stage) Crash($"in a submit ({stage})");
    }

    private static void Crash(string where)
    {
        Console.Error.WriteLine($"JobApi: fault injection: crashing {where}");
        Process.GetCurrentProcess().Kill(); // SIGKILL: no cleanup, exactly like a crash
    }
}
