using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using JobApi.JobKinds;
using JobApi.Telemetry;
using StackExchange.Redis;

namespace JobApi.Engine;

public sealed partial class JobStore
{
    /// <summary>A new webhook is first looked at this long after the submit (the job's final event normally wakes it sooner).</summary>
    internal static readonly TimeSpan WebhookRecheck = TimeSpan.FromSeconds(30);

    /// <summary>Creates the job for the tenant (or finds the one an earlier request of the same tenant with the
    /// same idempotency key created). Refuses with <c>IdempotencyConflict</c> when the key was used with another
    /// body, and with <c>Quota</c> when a per-tenant cap would be exceeded. <paramref name="newId"/>: the id a new job
    /// gets (from <see cref="WatchNewJobAsync"/>), a fresh one when null. A lone job of a kind that is short here may
    /// run in the submit itself, where this process's worker is idle (<see cref="ILocalShardRunner.RunAhead"/>): the job
    /// then ends within its submit and the outcome carries its result.</summary>
    public async Task<SubmitOutcome> SubmitAsync(string tenant, string kind, JsonElement input, int? shards, int maxAttempts, JobPlan plan, string? idempotencyKey,
        SubmitOptions? extras = null, string? newId = null)
    {
        extras ??= SubmitOptions.None;
        var bodyHash = BodyHash(kind, input, shards, maxAttempts, extras);
        var id = newId ?? JobId.New();
        // Known before the job exists, so that its final event, which can come before the script's reply, finds its
        // tenant here (a tenant's events stream). An id is never reused: one whose job is never created stays unknown.
        owners.Remember(id, tenant);
        using var span = JobApiTracing.StartSubmit(kind);
        // One payload for all shards (common for uniform work such as noop) is stored once, in the job hash.
        var payloads = plan.ShardPayloads;
        var uniform = payloads.Count > 0 && payloads.All(p => p == payloads[0]) ? payloads[0] : "";
        var bytes = plan.MergeContext.Length + (uniform.Length > 0 ? uniform.Length : payloads.Sum(p => (long)p.Length));
        // A plain submit on a Redis that is not a cluster is one script call (quota, index entries, job, rotation, nudge).
        if (idempotencyKey is null && span is null && extras.Plain && topology.OneServer)
        {
            var plainArgs = SubmitArgs(kind, payloads, maxAttempts, plan, bodyHash, uniform, extras, tenant, bytes, idempotencyRecord: null);
            // A one-shard job submitted where this process's worker is idle: that worker holds its shard from the start.
            var local = payloads.Count == 1 && uniform.Length > 0 && localRunner is { } runner && runner.TryClaim() ? runner : null;
            try
            {
                var mergeContext = string.IsNullOrEmpty(plan.MergeContext) ? null : plan.MergeContext;
                LeaseGrant Grant(long startedAt) => new(id, LeaseKind.Shards, kind, 1, 1, startedAt, mergeContext, [new LeasedShard(0, 1, uniform)]);
                // A kind that is short here runs first: the submit then ends the job with its result, in the same
                // script call that creates it (the worker would take longer to be told than to run it).
                var ahead = local is null ? null : local.RunAhead(Grant(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
                if (ahead is not null) faults.InSubmit("ran-ahead");
                var whole = await quota.WithSettleAsync(tenant, () => SubmitWholeAsync(tenant, id, extras.Priority, payloads.Count, bytes, plainArgs, local, ahead),
                    r => r.Refusal is not null);
                if (whole.Refusal is { } refused) return SubmitOutcome.OverQuota(refused);
                var answer = whole.Reply!;
                if (whole.Finished)
                {
                    local!.Finished(id);
                    local = null;
                    var done = await CreatedAsync(id, tenant, kind, payloads.Count, extras, answer, span, () => [keys.Job(id).Job], held: true);
                    var ended = done with { Status = Ended(done.Status!), Result = new StoredResult(ahead!.Merged, null, []) };
                    recent.Remember(ended.Status!, ended.Result!, extras.RetainMs);
                    return ended;
                }
                var held = local is not null && answer.Length > 4 && (string?)answer[4] == "held";
                if (held)
                {
                    var run = local!;
                    local = null;
                    run.Run(Grant((long)answer[1]));
                }
                // Every key written is on the one server: the job hash names it.
                return Expecting(await CreatedAsync(id, tenant, kind, payloads.Count, extras, answer, span, () => [keys.Job(id).Job], held), extras, newId);
            }
            finally
            {
                local?.Unclaim();
            }
        }
        if (await quota.ReserveAsync(tenant, id, payloads.Count, bytes) is { } refusal) return SubmitOutcome.OverQuota(refusal);
        if (idempotencyKey is not null)
        {
            var claimed = await ClaimIdempotencyKeyAsync(tenant, idempotencyKey, id, bodyHash);
            if (claimed != id) await quota.ReleaseAsync(tenant, id);
            if (claimed is null) return SubmitOutcome.IdempotencyConflict;
            id = claimed;
            faults.InSubmit("claimed");
        }

        var job = keys.Job(id);
        var args = SubmitArgs(kind, payloads, maxAttempts, plan, bodyHash, uniform, extras, tenant, bytes,
            idempotencyKey is null ? null : keys.Idempotency(tenant, idempotencyKey).ToString());
        var db = Db;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var partition = keys.PartitionOf(id);
        var batch = db.CreateBatch();
        // The index entries come first: a job hash that exists is always findable by the sweep and the scheduler.
        // They are the partition's and the tenant's (each its own slot); the job's data is in the job's slot.
        var written = new List<RedisKey> { job.Job, keys.JobIndex(partition), keys.Pending(partition), keys.Tenant(tenant).Jobs, keys.TenantSet };
        if (idempotencyKey is not null) written.Add(keys.Idempotency(tenant, idempotencyKey));
        // Each dependency notes this job first, before anything can make this job due: a dependency that ends later
        // then flags dependents in its final event, which wakes this job at once (see FinalEvent); one that ended
        // earlier is read as final by the scheduler.
        var writes = (extras.DependsOn ?? []).Select(dep => (Task)batch.RunAsync(LuaScripts.Link, keys.Job(dep), [id])).ToList();
        writes.AddRange(
        [
            batch.SortedSetAddAsync(keys.JobIndex(partition), id, 0),
            batch.SortedSetAddAsync(keys.Pending(partition), id, now, SortedSetWhen.NotExists),
            batch.SortedSetAddAsync(keys.Tenant(tenant).Jobs, id, 0),
            batch.SetAddAsync(keys.TenantSet, tenant),
        ]);
        if (extras.Waits)
        {
            writes.Add(batch.SortedSetAddAsync(keys.Due(partition), id, Math.Max(extras.RunAtMs ?? 0, now + (extras.DelayMs ?? 0)), SortedSetWhen.NotExists));
            written.Add(keys.Due(partition));
        }
        if (extras.TimeoutMs is { } timeout)
        {
            writes.Add(batch.SortedSetAddAsync(keys.Timeouts(partition), id, now + timeout, SortedSetWhen.NotExists));
            written.Add(keys.Timeouts(partition));
        }
        if (extras.CallbackUrl is not null)
        {
            writes.Add(batch.SortedSetAddAsync(keys.Webhooks(partition), id, now + (long)WebhookRecheck.TotalMilliseconds, SortedSetWhen.NotExists));
            written.Add(keys.Webhooks(partition));
        }
        var submit = batch.RunAsync(LuaScripts.Submit, job, args);
        // The trace context travels with the job, so shard and merge spans join the submit's trace.
        // Only a fresh id is sure to be ours; an idempotent replay keeps the first request's trace.
        if (span is not null && idempotencyKey is null) writes.Add(batch.HashSetAsync(job.Job, JobApiTracing.TraceParentField, span.Id));
        // A fresh id is always created here, so it joins the rotation in the same round trip (a waiting job joins when due).
        var fresh = idempotencyKey is null;
        if (fresh && !extras.Waits) writes.AddRange(EnterRotation(batch, id, extras.Priority));
        batch.Execute();
        await Task.WhenAll(writes);
        var reply = await submit;
        var created = (int)reply[0] == 1;
        if (!fresh) faults.InSubmit("created");

        var band = keys.ActiveBand(partition, extras.Priority);
        if (!extras.Waits) written.Add(band);
        if (!fresh && !extras.Waits && (created || !JobStates.IsFinal((string)reply[1]!)))
        {
            // A replay puts the job back when a crash right after the first submit left it out (a no-op otherwise).
            var again = db.CreateBatch();
            var pushes = EnterRotation(again, id, extras.Priority);
            again.Execute();
            await Task.WhenAll(pushes);
        }
        if (!created) return new SubmitOutcome(await GetStatusAsync(id) ?? throw new InvalidOperationException($"Job {id} vanished right after it was found."), false);
        return Expecting(await CreatedAsync(id, tenant, kind, payloads.Count, extras, (RedisResult[])reply!, span, () => written), extras, newId);
    }

    /// <summary>A one-shard job created here that may end within moments (it does not wait to be due) is expected, so
    /// that its final event's short result is kept for the read that usually follows. Not a job of many shards (it
    /// seldom ends within an entry's life, and when it does, the read goes to Redis as any other), and not when the
    /// caller watches the job already (<paramref name="newId"/>, from <see cref="WatchNewJobAsync"/>): that caller's
    /// wait takes the result from the event.</summary>
    private SubmitOutcome Expecting(SubmitOutcome created, SubmitOptions extras, string? newId)
    {
        if (newId is null && !extras.Waits && created.Status!.Shards.Total == 1) recent.Expect(created.Status, extras.RetainMs);
        return created;
    }

    /// <summary>submit.lua's arguments.</summary>
    private static RedisValue[] SubmitArgs(string kind, IReadOnlyList<string> payloads, int maxAttempts, JobPlan plan, string bodyHash, string uniform,
        SubmitOptions extras, string tenant, long bytes, string? idempotencyRecord)
    {
        RedisValue[] fields = [.. extras.HashFields(idempotencyRecord), "tenant", tenant, "quotaBytes", bytes];
        return
        [
            kind, payloads.Count, maxAttempts, plan.MergeContext, bodyHash, uniform,
            extras.DelayMs ?? 0, extras.RunAtMs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
            extras.DependsOn is { Count: > 0 } ? "1" : "0", fields.Length / 2, .. fields,
            .. (uniform.Length > 0 ? [] : payloads.Select(p => (RedisValue)p)),
        ];
    }

    /// <summary>submit_whole.lua for a plain job: its reply (submit.lua's), or the cap that refused it. With a shard run
    /// ahead (<paramref name="ahead"/>, which needs <paramref name="holder"/>), the script ends the job under the hold it
    /// takes, as that hold's commit would (<c>Finished</c>): the job is written, committed and finished in one call.</summary>
    private async Task<(RedisResult[]? Reply, QuotaRefusal? Refusal, bool Finished)> SubmitWholeAsync(string tenant, string id, int priority, int shards, long bytes,
        RedisValue[] args, ILocalShardRunner? holder, ShardRunAhead? ahead = null)
    {
        var partition = keys.PartitionOf(id);
        var t = keys.Tenant(tenant);
        RedisValue[] reserve = quota.Off ? [] : quota.ReserveArgs(id, shards, bytes);
        RedisKey[] whole =
        [
            .. keys.Job(id).DataKeys, t.Usage, t.Open, keys.JobIndex(partition), keys.Pending(partition), t.Jobs, keys.TenantSet,
            keys.ActiveBand(partition, priority), keys.ActiveBands(partition), keys.ActiveSequence(partition),
        ];
        RedisValue[] all =
        [
            id, tenant, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), keys.NudgeChannel.ToString(), priority,
            holder?.WorkerId ?? "", holder?.Token ?? "", (long)_options.Worker.LeaseTtl.TotalMilliseconds,
            holder is null ? "" : ahead?.Merged ?? "", keys.EventsChannel.ToString(), (long)_options.Retention.TotalMilliseconds,
            reserve.Length, .. reserve, .. args,
        ];
        var reply = (RedisResult[])(await Db.EvaluateAsync(LuaScripts.SubmitWhole, whole, all))!;
        if ((string?)reply[0] == "quota") return (null, new QuotaRefusal((string)reply[1]!, (long)reply[2], (long)reply[3]), false);
        return (reply, null, reply.Length > 4 && (string?)reply[4] == "ended");
    }

    /// <summary>The status a job that ended in its submit has (what a read would show, but its end time: the commit's
    /// moment on Redis's clock, not known here, is a fraction of a millisecond after its start).</summary>
    private static JobStatus Ended(JobStatus held) => held with
    {
        State = JobStates.Succeeded, Shards = new ShardCounts(held.Shards.Total, 0, 0, held.Shards.Total, 0), Progress = 1,
        FinishedAt = DateTime.UnixEpoch.AddMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
    };

    /// <summary>The new job's status from submit.lua's reply, once what it wrote is on the replicas when that is asked for.</summary>
    private async Task<SubmitOutcome> CreatedAsync(string id, string tenant, string kind, int total, SubmitOptions extras, RedisResult[] reply,
        System.Diagnostics.Activity? span, Func<IEnumerable<RedisKey>> written, bool held = false)
    {
        if (_options.Durability.WaitReplicas > 0)
            await WaitForReplicasAsync(Db, written());
        metrics.JobSubmitted();
        span?.SetTag("jobapi.job_id", id);
        Log.Submitted(logger, id, kind, total);
        var created = JobStatus.Time(reply[1].ToString()) ?? DateTime.UtcNow;
        // A job whose shard this process's worker holds from the submit is running, its first attempt started.
        var status = new JobStatus(id, kind, (string)reply[2]!, held ? new ShardCounts(total, 0, total, 0, 0) : new ShardCounts(total, total, 0, 0, 0),
            0, held ? 1 : 0, created, held ? created : null, null, null, extras.Priority, JobStatus.Time((string)reply[3]!), extras.DependsOn, extras.ScheduleId,
            extras.CallbackUrl is null ? null : new WebhookStatus(extras.CallbackUrl, "pending", 0, null, null));
        return new SubmitOutcome(status, true);
    }

    /// <summary>Puts a queued job into the rotation of its priority band in its partition, at the back of the turn
    /// order unless it is there already (enter.lua), and wakes idle workers.</summary>
    internal Task[] EnterRotation(IBatch batch, string id, int priority) => EnterRotationAndNudge(batch, keys, id, priority);

    /// <summary><see cref="EnterRotation(IBatch, string, int)"/> for callers without a store (the worker's queue).</summary>
    internal static Task[] EnterRotationAndNudge(IBatch batch, RedisKeys keys, string id, int priority) =>
        [EnterRotation(batch, keys, id, priority), batch.PublishAsync(keys.NudgeChannel, id)];

    /// <summary>enter.lua for the job: true when it was added, false when it was in the rotation already.</summary>
    internal static async Task<bool> EnterRotation(IDatabaseAsync db, RedisKeys keys, string id, int priority)
    {
        var partition = keys.PartitionOf(id);
        RedisKey[] rotation = [keys.ActiveBand(partition, priority), keys.ActiveBands(partition), keys.ActiveSequence(partition)];
        return (int)await db.EvaluateAsync(LuaScripts.Enter, rotation, [id, priority]) == 1;
    }

    /// <summary>Redis <c>WAIT</c> on every primary that holds one of <paramref name="written"/> (on a cluster they
    /// may be several: the job's slot and the partition's keys), so the submit survives a failover of any of them.</summary>
    private async Task WaitForReplicasAsync(IDatabase db, IEnumerable<RedisKey> written)
    {
        var endpoints = new HashSet<System.Net.EndPoint>();
        foreach (var key in written)
            if (await db.IdentifyEndpointAsync(key) is { } endpoint) endpoints.Add(endpoint);
        await Task.WhenAll(endpoints.Select(e => redis.GetServer(e).ExecuteAsync("WAIT", _options.Durability.WaitReplicas, 5000)));
    }

    /// <summary>The states of jobs (null where there is no such job), in one round trip.</summary>
    public async Task<string?[]> StatesAsync(IReadOnlyList<string> ids)
    {
        var batch = Db.CreateBatch();
        var reads = ids.Select(i => JobId.IsWellFormed(i) ? batch.HashGetAsync(keys.Job(i).Job, "state") : Task.FromResult(RedisValue.Null)).ToArray();
        batch.Execute();
        return (await Task.WhenAll(reads)).Select(v => (string?)v).ToArray();
    }

    /// <summary>SET NX of the key → (our id, hash). Returns the id that owns the key, or null when its body differs.</summary>
    private async Task<string?> ClaimIdempotencyKeyAsync(string tenant, string idempotencyKey, string id, string bodyHash)
    {
        var key = keys.Idempotency(tenant, idempotencyKey);
        var db = Db;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (await db.StringSetAsync(key, $"{id}|{bodyHash}", _options.Retention, When.NotExists)) return id;
            var existing = (string?)await db.StringGetAsync(key);
            if (existing is null) continue; // expired in between: claim again
            var bar = existing.IndexOf('|');
            return existing[(bar + 1)..] == bodyHash ? existing[..bar] : null;
        }
        throw new InvalidOperationException("The idempotency record kept disappearing.");
    }

    private static string BodyHash(string kind, JsonElement input, int? shards, int maxAttempts, SubmitOptions extras)
    {
        // The input re-serialized compactly: whitespace does not make a different body.
        var canonical = $"{kind}\n{shards}\n{maxAttempts}\n{JsonSerializer.Serialize(input)}";
        if (extras.Canonical.Length > 0) canonical += "\n" + extras.Canonical;
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }
}
