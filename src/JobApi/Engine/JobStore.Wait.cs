using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Reading a job's status together with its result, and waiting for the job to end.</summary>
public sealed partial class JobStore
{
    /// <summary>The status, after waiting up to <paramref name="wait"/> for the job to reach a final state, and, when
    /// it succeeded, its result with the items [offset, offset + limit): each look reads both in one round trip. A
    /// result that arrives with the job's final event (<see cref="FinalEvent.Result"/>) is not read back: the status
    /// is then the one read before the wait, marked succeeded (its id and kind are what a result needs).</summary>
    public async Task<(JobStatus? Status, StoredResult? Result)> WaitForResultAsync(
        string id, TimeSpan wait, long offset, int limit, CancellationToken cancellationToken)
    {
        if (!JobId.IsWellFormed(id)) return (null, null);
        if (wait <= TimeSpan.Zero) return await ReadWithResultAsync(id, offset, limit);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait);
        while (true)
        {
            using var waiter = await events.WatchAsync(id); // before the read, so that no event is missed
            var read = await ReadWithResultAsync(id, offset, limit);
            if (read.Status is null || read.Status.IsFinal) return read;
            FinalEvent? final;
            try
            {
                final = await waiter.Signal.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return await ReadWithResultAsync(id, offset, limit);
            }
            // A short whole result came with the event that ended the job: no second read.
            if (final?.Result is { } json) return (read.Status with { State = JobStates.Succeeded }, new StoredResult(json, null, []));
        }
    }

    /// <summary>The merged result with, when it has items, the items [offset, offset + limit) and their total;
    /// null when there is none. Only the page is read: the items are a Redis list.</summary>
    public async Task<StoredResult?> GetResultAsync(string id, long offset, int limit)
    {
        var batch = Db.CreateBatch();
        var result = ReadResult(batch, id, offset, limit);
        batch.Execute();
        return await result;
    }

    /// <summary>The status and, in the same round trip, the result (null unless the job succeeded).</summary>
    private async Task<(JobStatus? Status, StoredResult? Result)> ReadWithResultAsync(string id, long offset, int limit)
    {
        var batch = Db.CreateBatch();
        var status = ReadStatusAsync(batch, id);
        var result = ReadResult(batch, id, offset, limit);
        batch.Execute();
        var s = await status;
        var r = await result;
        return (s, s?.State == JobStates.Succeeded ? r : null);
    }

    private static readonly RedisValue[] ResultFields = ["items", "result"];

    private async Task<StoredResult?> ReadResult(IBatch batch, string id, long offset, int limit)
    {
        var job = keys.Job(id);
        var head = batch.StringGetAsync(job.Result);
        var fields = batch.HashGetAsync(job.Job, ResultFields);
        var page = batch.ListRangeAsync(job.ResultItems, offset, offset + limit - 1);
        await Task.WhenAll(head, fields, page);
        // A short result of a job that ended under its hold is in the job hash (finish_job in common.lua).
        var values = await fields;
        var (total, inline) = (values[0], values[1]);
        var json = (string?)await head ?? (string?)inline;
        if (json is null) return null;
        return total.IsNull ? new StoredResult(json, null, []) : new StoredResult(json, (long)total, await page);
    }
}
