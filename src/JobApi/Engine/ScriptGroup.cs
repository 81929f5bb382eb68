using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>
/// Group commit across jobs: calls of one job script that arrive while an earlier group is on the wire go together
/// in the next one, as one script call (<see cref="LuaScripts.RunManyAsync"/>). A lone call goes at once, alone, so
/// a single job waits no longer than before; under load each round trip carries everything that queued up during
/// the last one. Only on a Redis that is not a cluster: the jobs' keys are in different slots.
/// </summary>
internal sealed class ScriptGroup(Func<IDatabase> db, string single, string many, int maxCalls)
{
    private readonly Lock _gate = new();
    private List<(JobCall Call, TaskCompletionSource<RedisResult> Reply)> _queued = [];
    private bool _sending;
    private long _groups;

    /// <summary>How many script calls carried more than one call so far.</summary>
    public long Groups => Interlocked.Read(ref _groups);

    public Task<RedisResult> RunAsync(JobCall call)
    {
        // Continuations run on the sender as each group's replies are handed out: no thread hand-off per call.
        var reply = new TaskCompletionSource<RedisResult>();
        lock (_gate)
        {
            _queued.Add((call, reply));
            if (_sending) return reply.Task;
            _sending = true;
        }
        _ = SendAsync();
        return reply.Task;
    }

    private async Task SendAsync()
    {
        while (true)
        {
            List<(JobCall Call, TaskCompletionSource<RedisResult> Reply)> group;
            lock (_gate)
            {
                if (_queued.Count == 0)
                {
                    _sending = false;
                    return;
                }
                if (_queued.Count <= maxCalls)
                {
                    group = _queued;
                    _queued = [];
                }
                else
                {
                    group = _queued.GetRange(0, maxCalls);
                    _queued.RemoveRange(0, maxCalls);
                }
            }
            RedisResult[] replies;
            try
            {
                if (group.Count > 1) Interlocked.Increment(ref _groups);
                replies = group.Count == 1
                    ? [await db().EvaluateAsync(single, group[0].Call.Keys, group[0].Call.Args)]
                    : (RedisResult[])(await db().RunManyAsync(many, group.ConvertAll(g => g.Call)))!;
            }
            catch (Exception e)
            {
                foreach (var (_, reply) in group) reply.TrySetException(e);
                continue;
            }
            for (var i = 0; i < group.Count; i++) group[i].Reply.TrySetResult(replies[i]);
        }
    }
}
