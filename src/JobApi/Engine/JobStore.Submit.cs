using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using JobApi.JobKinds;
using StackExchange.Redis;

namespace JobApi.Engine;

public sealed partial class JobStore
{
    /// <summary>A new webhook is first looked at this long after the submit (the job's final event normally wakes it sooner).</summary>
    internal static readonly TimeSpan WebhookRecheck = TimeSpan.FromSeconds(30);

    /// <summary>Creates the job (or finds the one an earlier request with the same idempotency key created).
    /// Returns null status with <c>IdempotencyConflict</c> when the key was used with another body.</summary>
    public async Task<SubmitOutcome> SubmitAsync(string kind, JsonElement input, int? shards, int maxAttempts, JobPlan plan, string? idempotencyKey,
        SubmitOptions? extras = null)
    {
        extras ??= SubmitOptions.None;
        var bodyHash = BodyHash(kind, input, shards, maxAttempts, extras);
        var id = JobId.New();
        if (idempotencyKey is not null)
        {
            var claimed = await ClaimIdempotencyKeyAsync(idempotencyKey, id, bodyHash);
            if (claimed is null) return SubmitOutcome.IdempotencyConflict;
            id = claimed;
            faults.InSubmit("claimed");
        }

        var job = keys.Job(id);
        // One payload for all shards (common for uniform work such as noop) is stored once, in the job hash.
        var payloads = plan.ShardPayloads;
        var uniform = payloads.Count > 0 && payloads.All(p => p == payloads[0]) ? payloads[0] : "";
        var fields = extras.HashFields(idempotencyKey is null ? null : keys.Idempotency(idempotencyKey).ToString());
        RedisValue[] args =
        [
            kind, payloads.Count, maxAttempts, plan.MergeContext, bodyHash, uniform,
            extras.DelayMs ?? 0, extras.RunAtMs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
            extras.DependsOn is { Count: > 0 } ? "1" : "0", fields.Length / 2, .. fields,
            .. (uniform.Length > 0 ? [] : payloads.Select(p => (RedisValue)p)),
        ];
        var db = Db;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var batch = db.CreateBatch();
        // The index entries come first: a job hash that exists is always findable by the sweep and the scheduler.
        var writes = new List<Task>
        {
            batch.SortedSetAddAsync(keys.JobIndex, id, 0),
            batch.SortedSetAddAsync(keys.Pending, id, now, SortedSetWhen.NotExists),
        };
        if (extras.Waits)
            writes.Add(batch.SortedSetAddAsync(keys.Due, id, Math.Max(extras.RunAtMs ?? 0, now + (extras.DelayMs ?? 0)), SortedSetWhen.NotExists));
        if (extras.TimeoutMs is { } timeout) writes.Add(batch.SortedSetAddAsync(keys.Timeouts, id, now + timeout, SortedSetWhen.NotExists));
        if (extras.CallbackUrl is not null)
            writes.Add(batch.SortedSetAddAsync(keys.Webhooks, id, now + (long)WebhookRecheck.TotalMilliseconds, SortedSetWhen.NotExists));
        var submit = batch.RunAsync(LuaScripts.Submit, job, args);
        // Each dependency notes this job, so its final event wakes this one at once (order does not matter:
        // the scheduler reads the dependencies' states itself).
        foreach (var dep in extras.DependsOn ?? []) writes.Add(batch.RunAsync(LuaScripts.Link, keys.Job(dep), [id]));
        // A fresh id is always created here, so it joins the rotation in the same round trip (a waiting job joins when due).
        var fresh = idempotencyKey is null;
        if (fresh && !extras.Waits) writes.AddRange(EnterRotation(batch, id, extras.Priority));
        batch.Execute();
        await Task.WhenAll(writes);
        var reply = await submit;
        var created = (int)reply[0] == 1;
        if (!fresh) faults.InSubmit("created");

        if (!fresh && !extras.Waits && (created || !JobStates.IsFinal((string)reply[1]!)))
        {
            if (created || await db.ListPositionAsync(keys.ActiveBand(extras.Priority), id) < 0)
            {
                var again = db.CreateBatch();
                var pushes = EnterRotation(again, id, extras.Priority);
                again.Execute();
                await Task.WhenAll(pushes);
            }
        }
        if (_options.Durability.WaitReplicas > 0)
            await db.ExecuteAsync("WAIT", _options.Durability.WaitReplicas, 5000);

        var total = payloads.Count;
        var status = created
            ? new JobStatus(id, kind, (string)reply[2]!, new ShardCounts(total, total, 0, 0, 0), 0, 0, JobStatus.Time(reply[1].ToString()) ?? DateTime.UtcNow,
                null, null, null, extras.Priority, JobStatus.Time((string)reply[3]!), extras.DependsOn, extras.ScheduleId,
                extras.CallbackUrl is null ? null : new WebhookStatus(extras.CallbackUrl, "pending", 0, null, null))
            : await GetStatusAsync(id) ?? throw new InvalidOperationException($"Job {id} vanished right after it was found.");
        return new SubmitOutcome(status, created);
    }

    /// <summary>Puts a queued job into the rotation of its priority band and wakes idle workers.</summary>
    internal Task[] EnterRotation(IBatch batch, string id, int priority)
    {
        var push = batch.ListLeftPushAsync(keys.ActiveBand(priority), id);
        Task band = priority == 0 ? Task.CompletedTask : batch.SortedSetAddAsync(keys.ActiveBands, priority, priority);
        return [push, band, batch.PublishAsync(keys.NudgeChannel, id)];
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
    private async Task<string?> ClaimIdempotencyKeyAsync(string idempotencyKey, string id, string bodyHash)
    {
        var key = keys.Idempotency(idempotencyKey);
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
