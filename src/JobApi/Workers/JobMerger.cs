using JobApi.Engine;
using JobApi.JobKinds;
using StackExchange.Redis;

namespace JobApi.Workers;

/// <summary>
/// Runs the merge of a job whose merge lease this worker holds. A kind with <see cref="IStreamingMerge"/>
/// reads shard results one at a time and writes its items to a staging list that the finish script makes
/// the result's items; any other kind merges every result in memory. A merge that throws (anything but a
/// Redis error, after which the lease runs out and another worker merges again) fails the job with its error.
/// </summary>
public sealed partial class JobMerger(ShardQueue queue, JobKindRegistry kinds, WorkerIdentity identity, ILogger<JobMerger> logger)
{
    /// <summary>Merges and finishes the job. Returns the outcome ("ok", "failed", "stale", "final"), or null
    /// when the job is gone or its kind is unknown to this worker (the lease runs out for another one).</summary>
    public async Task<string?> MergeAsync(string jobId, CancellationToken cancellationToken)
    {
        string outcome;
        try
        {
            outcome = await MergeAndFinishAsync(jobId, cancellationToken) ?? "";
        }
        catch (Exception e) when (e is not (RedisException or TimeoutException))
        {
            Log.MergeFailed(logger, jobId, e);
            outcome = await queue.MergeFailedAsync(jobId, identity.Token, Truncate(e.Message));
        }
        if (outcome.Length == 0) return null;
        Log.Merged(logger, jobId, outcome);
        return outcome;
    }

    private async Task<string?> MergeAndFinishAsync(string jobId, CancellationToken cancellationToken)
    {
        if (await queue.OpenForMergeAsync(jobId) is not { } open || !kinds.TryGet(open.Kind, out var kind)) return null;
        if (kind is IStreamingMerge streaming)
        {
            var items = await queue.StartItemsAsync(jobId, identity.Token);
            var head = await streaming.MergeAsync(open.Context, open.Results, items, cancellationToken);
            await items.FlushAsync(cancellationToken);
            return await queue.FinishAsync(jobId, identity.Token, head, streaming.ResultHasItems ? items.Count : null);
        }
        var results = await queue.ReadResultsAsync(jobId, open.Results.Count);
        return await queue.FinishAsync(jobId, identity.Token, kind.Merge(open.Context, results));
    }

    internal static string Truncate(string message) => message.Length <= 1000 ? message : message[..1000];

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Merge of job {JobId}: {Outcome}")]
        public static partial void Merged(ILogger logger, string jobId, string outcome);

        [LoggerMessage(2, LogLevel.Warning, "Merge of job {JobId} failed; the job fails")]
        public static partial void MergeFailed(ILogger logger, string jobId, Exception exception);
    }
}
