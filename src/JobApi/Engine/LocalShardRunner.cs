namespace JobApi.Engine;

/// <summary>
/// The worker of this process, on a node with both roles: a one-shard job submitted here while it is idle starts under
/// its lease in the submit's own script call (submit_whole.lua) and is handed to it in memory, without the nudge and
/// the lease round trip another worker would need: the latency of a lone job on such a node. When the job's kind is
/// known to be short here, its shard runs first, in the submit, and the submit's script writes the job and ends it with
/// that result (<see cref="RunAhead"/>).
/// </summary>
public interface ILocalShardRunner
{
    /// <summary>The worker's id and lease token, as its own leases carry them.</summary>
    string WorkerId { get; }
    string Token { get; }

    /// <summary>Claims the worker for one new job's shard: false when it is busy, stopping, or claimed already. A
    /// successful claim ends with <see cref="Run"/> (the submit holds the shard) or <see cref="Unclaim"/>.</summary>
    bool TryClaim();

    /// <summary>Runs the shard the submit holds for this worker (fence 1, the job's only shard) and ends the claim.</summary>
    void Run(LeaseGrant grant);

    /// <summary>Ends a claim the submit did not use.</summary>
    void Unclaim();

    /// <summary>Runs the shard of <paramref name="grant"/> (fence 1, the job's only shard, held by this worker from the
    /// submit) before its job is written, on the caller's thread, and merges its result, when the job's kind is short
    /// here (its recent shards took under 0.2 ms, the rule for running a lone shard on the thread that leased it). Null
    /// when it is not short or not known here, or has no local merge, or the shard threw, or it did not finish at once
    /// (it awaits: a timer, I/O; it is canceled): the job then takes the held path and the worker runs the shard as any
    /// held one (a failed attempt is recorded there). Nothing is written: a run whose submit refuses the job, or whose
    /// node dies before the submit, left no trace but its raw execution.</summary>
    ShardRunAhead? RunAhead(LeaseGrant grant);

    /// <summary>The job whose shard ran ahead ended in its submit's script: it is counted and logged as a job this worker
    /// finished, and the claim ends.</summary>
    void Finished(string jobId);
}

/// <summary>A shard run ahead of its job's submit (<see cref="ILocalShardRunner.RunAhead"/>): the job's result,
/// merged from the shard's.</summary>
public sealed record ShardRunAhead(string Merged);
