namespace JobApi.Workers;

public sealed partial class ShardWorker
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Worker {WorkerId} started with concurrency {Concurrency}")]
        public static partial void Started(ILogger logger, string workerId, int concurrency);

        [LoggerMessage(2, LogLevel.Warning, "Redis call failed in the worker; retrying")]
        public static partial void RedisError(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Warning, "Shard {JobId}/{Shard} attempt {Attempt} failed ({Outcome}): {Error}")]
        public static partial void ShardFailed(ILogger logger, string jobId, int shard, int attempt, string outcome, string error);

        [LoggerMessage(4, LogLevel.Information, "Shard {JobId}/{Shard} abandoned: {Reason}")]
        public static partial void ShardAbandoned(ILogger logger, string jobId, int shard, string reason);

        [LoggerMessage(5, LogLevel.Warning, "Commit under lease {JobId}/{Fence} refused for {Refused} shard(s): the lease was lost or taken over")]
        public static partial void StaleCommitRefused(ILogger logger, string jobId, long fence, int refused);

        [LoggerMessage(6, LogLevel.Warning, "Lease {JobId}/{Fence} lost; abandoning its shards")]
        public static partial void LeaseLost(ILogger logger, string jobId, long fence);

        [LoggerMessage(7, LogLevel.Warning, "Merge of job {JobId} in the worker that held every shard failed; the merge lease retries it: {Error}")]
        public static partial void LocalMergeFailed(ILogger logger, string jobId, string error);

        [LoggerMessage(8, LogLevel.Warning, "Work on {JobId}/{Shard} interrupted: {Reason}")]
        public static partial void WorkInterrupted(ILogger logger, string jobId, int shard, string reason);

        [LoggerMessage(9, LogLevel.Information, "Job {JobId} {State}")]
        public static partial void JobFinished(ILogger logger, string jobId, string state);

        [LoggerMessage(10, LogLevel.Debug, "Shard 0 of job {JobId}, run ahead of its submit, threw ({Error}): the job is held and run again by the worker")]
        public static partial void RunAheadFailed(ILogger logger, string jobId, string error);
    }
}
