using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>Reading a job's status together with its result, and waiting for the job to end.</summary>
public sealed partial class JobStore
{
    /// <summary>The status, after waiting up to <paramref name="wait"/> for the job to reach a final state, and, when
    /// it succeeded, its result with the items [offset, offset + limit): each look reads both in one round trip. A
    /// result that arrives with the job's final event (<see cref="FinalEvent.Result"/>) is not read back: the status
    /// is then the one read before the wait, marked succeeded (its id and kind are what a result needs).</summary>
    public Task<(JobStatus? Status, StoredResult? Result)> WaitForResultAsync(
        string id, TimeSpan wait, long offset, int limit, CancellationToken cancellationToken) =>
        WaitAsync(id, wait, offset, limit, watched: null, cancellationToken);

    /// <summary>An id for a job about to be submitted, watched already: its final event cannot come before the watch, so
    /// waiting for the new job (<see cref="WaitForSubmittedAsync"/>) needs no read first.</summary>
    public async Task<(string Id, JobEventWaiter Waiter)> WatchNewJobAsync()
    {
        var id = JobId.New();
        return (id, await events.WatchAsync(id));
    }

    /// <summary><see cref="WaitForResultAsync"/> for a job just submitted with the id of <paramref name="waiter"/>
    /// (<see cref="WatchNewJobAsync"/>; the caller disposes it): the first look is its final event, not a read; a short
    /// whole result that comes with it is the answer without any read. An idempotent replay (a job that existed) waits
    /// as any other request.</summary>
    public Task<(JobStatus? Status, StoredResult? Result)> WaitForSubmittedAsync(
        SubmitOutcome submitted, JobEventWaiter waiter, TimeSpan wait, int limit, CancellationToken cancellationToken) =>
        WaitAsync(submitted.Status!.Id, wait, 0, limit, submitted.Created ? (waiter, submitted.Status) : null, cancellationToken);

    /// <summary>The wait of both: each look watches the job, then reads it (a job just created and watched before its
    /// submit, <paramref name="watched"/>, is not read on the first look: it is known, and not final).</summary>
    private async Task<(JobStatus? Status, StoredResult? Result)> WaitAsync(string id, TimeSpan wait, long offset, int limit,
        (JobEventWaiter Waiter, JobStatus Status)? watched, CancellationToken cancellationToken)
    {
        if (!JobId.IsWellFormed(id)) return (null, null);
        JobEventWaiter? expecting = null;
        if (watched is null && wait > TimeSpan.Zero && recent.Expects(id))
        {
            // Submitted here and not ended as far as this node has heard: watch, then look again. A final event that
            // brings the result fills the entry before it wakes the waiters, so it is either found now or wakes this
            // wait, which then needs no read at all (as a submit that waits).
            var waiter = await events.WatchAsync(id);
            switch (recent.Take(id))
            {
                case { Result: { } result } ended:
                    waiter.Dispose();
                    return (ended.Status, result);
                case { } open:
                    (expecting, watched) = (waiter, (waiter, open.Status));
                    break;
                default:
                    waiter.Dispose();
                    break;
            }
        }
        // A job that ended within its submit here, or whose final event brought its result here: the read that
        // usually follows that submit needs no round trip.
        else if (watched is null && recent.Take(id) is { Result: { } kept } entry) return (entry.Status, kept);
        if (wait <= TimeSpan.Zero) return await ReadWithResultAsync(id, offset, limit);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait);
        using var _ = expecting;
        while (true)
        {
            using var own = watched is null ? await events.WatchAsync(id) : null; // watch before the read: no event is missed
            var waiter = own ?? watched!.Value.Waiter;
            var status = watched?.Status;
            // An expected job's end is trusted to its event only as long as the entry would have lived: should that
            // event be lost (a dropped subscription), the wait reads the job then, as it would have at first.
            var trusted = waiter == expecting ? RecentResults.MaxLife : Timeout.InfiniteTimeSpan;
            watched = null;
            if (status is null)
            {
                var read = await ReadWithResultAsync(id, offset, limit);
                if (read.Status is null || read.Status.IsFinal) return read;
                status = read.Status;
            }
            FinalEvent? final;
            try
            {
                final = await waiter.Signal.WaitAsync(trusted, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return await ReadWithResultAsync(id, offset, limit);
            }
            catch (TimeoutException)
            {
                continue;
            }
            // A short whole result came with the event that ended the job: no second read. Any other event: look again.
            if (final?.Result is { } json) return (status with { State = JobStates.Succeeded }, new StoredResult(json, null, []));
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
