using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>
/// The only place where a Redis key or channel is spelled. Every key of one job carries the job id as
/// its hash tag (<c>{J}</c>), so all of them live in one cluster slot and one script may touch them all.
/// </summary>
public sealed class RedisKeys(string prefix, int partitions = 1)
{
    private static string Num(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public string Prefix { get; } = prefix;

    /// <summary>How many queue partitions there are (<c>JobApi:Queue:Partitions</c>). Each partition's keys carry a
    /// hash tag of their own (<c>{rotation:P}</c>, ...), so on Redis Cluster the partitions spread over the slots.</summary>
    public int Partitions { get; } = partitions >= 1 ? partitions : throw new ArgumentOutOfRangeException(nameof(partitions));

    public JobKeys Job(string jobId) => new(Prefix, jobId);

    /// <summary>The partition of a job: a stable hash (FNV-1a) of its id, modulo the partition count. Every node
    /// must be configured with the same count.</summary>
    public int PartitionOf(string jobId)
    {
        var hash = 2166136261u;
        foreach (var c in jobId) hash = (hash ^ c) * 16777619u;
        return (int)(hash % (uint)Partitions);
    }

    /// <summary>ZSET: ids of the partition's unfinished jobs of priority 0, rotated by workers looking for work. The score
    /// is the job's place in the turn order (lowest next; a visited job goes to the back with the next numbers of
    /// <see cref="ActiveSequence"/>), so a job leaves it with one ZREM wherever it is.</summary>
    public RedisKey Active(int partition) => $"{Prefix}:{{rotation:{Num(partition)}}}";

    /// <summary>The partition's rotation of jobs with <paramref name="priority"/>: <see cref="Active"/> for 0, otherwise
    /// a ZSET beside it in the same slot (<c>{rotation:P}:p&lt;N&gt;</c>), so rotate.lua can reach every band of the
    /// partition in one call.</summary>
    public RedisKey ActiveBand(int partition, int priority) =>
        priority == 0 ? Active(partition) : $"{Prefix}:{{rotation:{Num(partition)}}}:p{Num(priority)}";

    /// <summary>ZSET of the non-zero priorities that have a rotation in the partition (member and score = priority).</summary>
    public RedisKey ActiveBands(int partition) => $"{Prefix}:{{rotation:{Num(partition)}}}:bands";

    /// <summary>STRING counter of the partition's rotation rounds while several of its bands have work (the fairness turn).</summary>
    public RedisKey ActiveRound(int partition) => $"{Prefix}:{{rotation:{Num(partition)}}}:round";

    /// <summary>STRING counter: the partition's turn sequence, the scores of its rotations (a job entering or visited
    /// takes the next number, the back of the turn order).</summary>
    public RedisKey ActiveSequence(int partition) => $"{Prefix}:{{rotation:{Num(partition)}}}:seq";

    /// <summary>The KEYS of rotate.lua and drop.lua for the partition: its priority-0 rotation, band registry, round
    /// counter and turn sequence, in that order.</summary>
    public RedisKey[] RotationKeys(int partition) => [Active(partition), ActiveBands(partition), ActiveRound(partition), ActiveSequence(partition)];

    /// <summary>ZSET: every job id of the partition (score 0, ordered by id = creation time), trimmed by the safety
    /// sweep. The job list reads the tenant's own index (<see cref="TenantKeys.Jobs"/>).</summary>
    public RedisKey JobIndex(int partition) => $"{Prefix}:{{jobs:{Num(partition)}}}";

    /// <summary>ZSET: unfinished job ids of the partition (score = creation time), swept by the lease reaper so that
    /// no job is left out of rotation.</summary>
    public RedisKey Pending(int partition) => $"{Prefix}:{{pending:{Num(partition)}}}";

    /// <summary>ZSET job id → when the scheduler should look at it: the partition's delayed jobs (runAt) and jobs
    /// waiting for dependencies.</summary>
    public RedisKey Due(int partition) => $"{Prefix}:{{due:{Num(partition)}}}";

    /// <summary>ZSET job id → earliest time its <c>timeoutSeconds</c> can run out (checked by the scheduler), per partition.</summary>
    public RedisKey Timeouts(int partition) => $"{Prefix}:{{timeouts:{Num(partition)}}}";

    /// <summary>ZSET job id → next webhook delivery attempt (or the next look at a job that has not finished yet), per partition.</summary>
    public RedisKey Webhooks(int partition) => $"{Prefix}:{{webhooks:{Num(partition)}}}";

    /// <summary>HASH schedule id → definition JSON. Schedules are few and keyed by their own id: they stay in one
    /// slot (<c>{schedules}</c>), so pause, resume and delete are one transaction each.</summary>
    public RedisKey Schedules => $"{Prefix}:{{schedules}}";

    /// <summary>ZSET schedule id → next tick (ms); paused schedules are absent.</summary>
    public RedisKey ScheduleNext => $"{Prefix}:{{schedules}}:next";

    /// <summary>HASH schedule id → the tick (ms) a node claimed and has not finished firing: a node that dies
    /// mid-firing leaves it here, so the next claimer fires the same tick (same idempotency key, one job).</summary>
    public RedisKey ScheduleTicks => $"{Prefix}:{{schedules}}:ticks";

    /// <summary>HASH schedule id → JSON of the latest tick that started no job (when and why), shown as <c>lastSkipped</c>.</summary>
    public RedisKey ScheduleSkips => $"{Prefix}:{{schedules}}:skips";

    /// <summary>Idempotency record for a tenant's client key; hashed so that any characters (braces too) are safe,
    /// and per tenant so that two tenants using the same key never meet.</summary>
    public RedisKey Idempotency(string tenant, string key) =>
        $"{Prefix}:{{idem:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(tenant + "\n" + key)))}}}";

    /// <summary>STRING with a TTL: the request-rate bucket of one tenant or client address (<c>JobApi:Limits:RequestsPerSecond</c>),
    /// shared by every API node; hashed, so that any characters (an IPv6 address, braces) are safe.</summary>
    public RedisKey RateBucket(string partition) =>
        $"{Prefix}:{{rate:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(partition)))[..32]}}}";

    /// <summary>SET of tenants that have a job index (the sweep trims each index).</summary>
    public RedisKey TenantSet => $"{Prefix}:{{tenants}}";

    /// <summary>The keys of one tenant (tenant names are validated: letters, digits, '_', '-', '.').</summary>
    public TenantKeys Tenant(string tenant) => new(Prefix, tenant);

    /// <summary>The keys of one uploaded input; they share the hash tag <c>{input:ID}</c>.</summary>
    public InputKeys Input(string inputId) => new(Prefix, inputId);

    /// <summary>Published when work appears (message: job id).</summary>
    public RedisChannel NudgeChannel => RedisChannel.Literal($"{Prefix}:nudge");

    /// <summary>Published when a job reaches a final state (message: the final event, <see cref="FinalEvent"/>); API
    /// nodes listen to it for the requests and streams that wait for a job.</summary>
    public RedisChannel EventsChannel => RedisChannel.Literal($"{Prefix}:events");

    /// <summary>The final events that leave the nodes something to do (the job has dependents or a webhook, or it did
    /// not succeed and workers stop its shards); a job that simply succeeded is not published here. common.lua's
    /// finish_job spells it as the events channel + <c>:follow-up</c>.</summary>
    public RedisChannel FollowUpChannel => RedisChannel.Literal($"{Prefix}:events:follow-up");

    /// <summary>Published (rate-limited) when a job makes progress (message: job id). Workers do not listen to it.</summary>
    public RedisChannel ProgressChannel => RedisChannel.Literal($"{Prefix}:progress");

    /// <summary>ZSET worker id → last heartbeat (ms): the registry of workers, pruned as their records expire.</summary>
    public RedisKey WorkerIndex => $"{Prefix}:{{workers}}";

    /// <summary>STRING with a TTL: one worker's heartbeat record (JSON), refreshed every few seconds.</summary>
    public RedisKey Worker(string workerId) => $"{Prefix}:{{worker:{workerId}}}";
}

/// <summary>The keys of one tenant, all in the tenant's own slot (hash tag <c>{tenant:T}</c>).</summary>
public readonly struct TenantKeys(string prefix, string tenant)
{
    private readonly string _base = $"{prefix}:{{tenant:{tenant}}}:";

    /// <summary>ZSET job id (score 0, ids sort by creation time): the tenant's job list.</summary>
    public RedisKey Jobs => _base + "jobs";
    /// <summary>HASH jobs / shards / bytes: what the tenant's unfinished jobs hold (quota counters).</summary>
    public RedisKey Usage => _base + "usage";
    /// <summary>HASH job id → <c>shards|bytes</c>: the unfinished jobs counted in <see cref="Usage"/>.</summary>
    public RedisKey Open => _base + "open";
}

/// <summary>The keys of one job. The string forms are also passed to scripts as KEYS.</summary>
public readonly struct JobKeys(string prefix, string jobId)
{
    private readonly string _base = $"{prefix}:{{{jobId}}}:";

    public string JobId { get; } = jobId;
    /// <summary>What every key of the job starts with: each data key is this followed by its name in
    /// <see cref="DataKeys"/> order (job, ready, delayed, running, inflight, batches, payloads, results, done, failures,
    /// dead, result, merge), which is how many.lua makes them.</summary>
    public string Base => _base;
    /// <summary>HASH: kind, state, total, counters, times, error, merge context.</summary>
    public RedisKey Job => _base + "job";
    /// <summary>LIST of shard indexes ready to run.</summary>
    public RedisKey Ready => _base + "ready";
    /// <summary>ZSET shard index → time it may run again (retry backoff).</summary>
    public RedisKey Delayed => _base + "delayed";
    /// <summary>ZSET lease fence → lease deadline (ms, Redis clock): where the reaper looks.</summary>
    public RedisKey Running => _base + "running";
    /// <summary>HASH shard index → fence of the lease that holds it now.</summary>
    public RedisKey Inflight => _base + "inflight";
    /// <summary>HASH lease fence → <c>worker|startedAt|i1,i2,...</c>: the shards one lease call handed out.</summary>
    public RedisKey Batches => _base + "batches";
    /// <summary>HASH shard index → payload the kind produced at split time (absent when every shard has the same payload).</summary>
    public RedisKey Payloads => _base + "payloads";
    /// <summary>HASH shard index → committed shard result.</summary>
    public RedisKey Results => _base + "results";
    /// <summary>HASH shard index → <c>startedAt|finishedAt|worker</c> of its committed attempt; HLEN is the succeeded count.</summary>
    public RedisKey Done => _base + "done";
    /// <summary>HASH shard index → <c>failedAttempts|last error</c>.</summary>
    public RedisKey Failures => _base + "failures";
    /// <summary>SET of dead-lettered shard indexes.</summary>
    public RedisKey Dead => _base + "dead";
    /// <summary>STRING: the merged result.</summary>
    public RedisKey Result => _base + "result";
    /// <summary>STRING with PX: the merge lease (token).</summary>
    public RedisKey MergeLease => _base + "merge";
    /// <summary>STRING with PX: one lease (a batch of shards handed out by one call), value = the worker's token.</summary>
    public RedisKey Lease(long fence) => _base + "lease:" + fence.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>LIST of the merged result's <c>items</c> (one JSON value each) when the kind's result has them;
    /// not among <see cref="DataKeys"/> (KEYS[1..13] stay the same for every script): the finish script gives it
    /// the job's retention itself.</summary>
    public RedisKey ResultItems => _base + "items";
    /// <summary>LIST the merge holding <paramref name="mergeToken"/> fills before the finish script renames it to
    /// <see cref="ResultItems"/>; expires on its own when a merge is abandoned.</summary>
    public RedisKey ResultItemsStaging(string mergeToken) => _base + "items:staging:" + mergeToken;

    /// <summary>Every key that must expire with the job (lease keys expire on their own), in the order the scripts expect.</summary>
    public RedisKey[] DataKeys => [Job, Ready, Delayed, Running, Inflight, Batches, Payloads, Results, Done, Failures, Dead, Result, MergeLease];
}

/// <summary>The keys of one uploaded input (<c>POST /v1/inputs</c>).</summary>
public readonly struct InputKeys(string prefix, string inputId)
{
    private readonly string _base = $"{prefix}:{{input:{inputId}}}:";

    /// <summary>HASH: bytes, chunkBytes, sha256, createdAt; exists only once the upload completed.</summary>
    public RedisKey Meta => _base + "meta";
    /// <summary>HASH chunk number → raw bytes (fixed size, the last one shorter).</summary>
    public RedisKey Chunks => _base + "chunks";
}
