namespace JobApi.Engine;

/// <summary>
/// The worker of this process, on a node with both roles: a one-shard job submitted here while it is idle starts under
/// its lease in the submit's own script call (submit_whole.lua) and is handed to it in memory, without the nudge and
/// the lease round trip another worker would need: the latency of a lone job on such a node.
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
}
