using System.ComponentModel.DataAnnotations;

namespace JobApi.Options;

/// <summary>The <c>JobApi</c> configuration section.</summary>
public sealed class JobApiOptions
{
    public const string Section = "JobApi";

    /// <summary><c>Api</c>, <c>Worker</c> or <c>Api,Worker</c>.</summary>
    [Required, RegularExpression(@"^\s*(Api|Worker)\s*(,\s*(Api|Worker)\s*)?$", ErrorMessage = "JobApi:Roles must be 'Api', 'Worker' or 'Api,Worker'.")]
    public string Roles { get; set; } = "Api,Worker";

    /// <summary>Prefix of every Redis key and channel, so several deployments (or test runs) can share one Redis.</summary>
    [Required, RegularExpression(@"^[A-Za-z0-9_\-:.]{1,64}$", ErrorMessage = "JobApi:KeyPrefix must be 1-64 characters of letters, digits, '_', '-', ':' or '.'.")]
    public string KeyPrefix { get; set; } = "jobapi";

    /// <summary>How long finished jobs and their data are kept.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00", ErrorMessage = "JobApi:Retention must be between 1 second and 3650 days.")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    public WorkerOptions Worker { get; set; } = new();
    public LimitsOptions Limits { get; set; } = new();
    public EmbeddedRedisOptions EmbeddedRedis { get; set; } = new();
    public DurabilityOptions Durability { get; set; } = new();
    public SchedulerOptions Scheduler { get; set; } = new();
    public WebhookOptions Webhooks { get; set; } = new();
    public QueueOptions Queue { get; set; } = new();
    public AuthOptions Auth { get; set; } = new();
    public RedisClientOptions Redis { get; set; } = new();
    public CorsOptions Cors { get; set; } = new();

    /// <summary>Test-only crash points (see Engine/FaultInjection.cs); ignored unless JOBAPI_FAULT_INJECTION=enabled.</summary>
    public FaultOptions Faults { get; set; } = new();

    public bool RunsApi => Roles.Contains("Api", StringComparison.OrdinalIgnoreCase);
    public bool RunsWorker => Roles.Contains("Worker", StringComparison.OrdinalIgnoreCase);
}

public sealed class WorkerOptions
{
    /// <summary>Shards this process runs at once; 0 means the number of cores.</summary>
    [Range(0, 1024, ErrorMessage = "JobApi:Worker:Concurrency must be between 0 and 1024.")]
    public int Concurrency { get; set; }

    [Range(typeof(TimeSpan), "00:00:00.300", "01:00:00", ErrorMessage = "JobApi:Worker:LeaseTtl must be between 300 ms and 1 hour.")]
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Base delay of the first retry; each further attempt doubles it (with ±50 % jitter).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "JobApi:Worker:RetryBackoff must be between 0 and 1 hour.")]
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an idle worker waits for a nudge before it looks for work (and expired leases) again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00", ErrorMessage = "JobApi:Worker:IdlePoll must be between 10 ms and 1 minute.")]
    public TimeSpan IdlePoll { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>On shutdown, how long running shards may take to finish before they are released to other workers.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "JobApi:Worker:ShutdownGrace must be between 0 and 10 minutes.")]
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a job may run on a worker before event streams are told that it started (a job that ends
    /// sooner is told by its final event alone).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "JobApi:Worker:ProgressStartDelay must be between 0 and 1 minute.")]
    public TimeSpan ProgressStartDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Longest a shard attempt may run; over it the worker cancels it and it counts as a failed attempt. Zero: no limit.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "JobApi:Worker:ShardTimeout must be between 0 (off) and 1 day.")]
    public TimeSpan ShardTimeout { get; set; } = TimeSpan.Zero;

    public int EffectiveConcurrency => Concurrency > 0 ? Concurrency : Environment.ProcessorCount;
}

/// <summary>The <c>JobApi:Redis</c> section: how the service trusts a configured Redis (the connection itself is
/// <c>ConnectionStrings:Redis</c>).</summary>
public sealed class RedisClientOptions
{
    /// <summary>PEM file of the certificate authority that signed the Redis server's TLS certificate, for a private CA
    /// the host does not trust. Setting it turns TLS on (as <c>ssl=true</c> in the connection string); the server's
    /// name must still match <c>sslHost</c> (or the host in the connection string).</summary>
    public string? TlsCaFile { get; set; }
}

/// <summary>The <c>JobApi:Limits</c> section: request limits, per-tenant quotas and the Redis memory guard.
/// A per-tenant cap of 0 turns that cap off.</summary>
public sealed class LimitsOptions
{
    [Range(1, 10_000_000, ErrorMessage = "JobApi:Limits:MaxShards must be between 1 and 10,000,000.")]
    public int MaxShards { get; set; } = 100_000;

    [Range(1024, 1L << 31, ErrorMessage = "JobApi:Limits:MaxBodyBytes must be between 1 KiB and 2 GiB.")]
    public long MaxBodyBytes { get; set; } = 16L << 20;

    /// <summary>Size of one uploaded input (<c>POST /v1/inputs</c>).</summary>
    [Range(1024, 1L << 40, ErrorMessage = "JobApi:Limits:MaxInputBytes must be between 1 KiB and 1 TiB.")]
    public long MaxInputBytes { get; set; } = 1L << 30;

    /// <summary>Requests per second per tenant (per client address in open mode) on /v1; 0 = off.</summary>
    [Range(0, 1_000_000, ErrorMessage = "JobApi:Limits:RequestsPerSecond must be between 0 and 1,000,000.")]
    public int RequestsPerSecond { get; set; }

    /// <summary>Where request rates are counted: <c>Redis</c> (one bucket per tenant shared by every API node, so the
    /// limit holds for the whole cluster) or <c>Memory</c> (a bucket per node: with n nodes a tenant gets up to n times the rate).</summary>
    [RegularExpression("^(Redis|Memory)$", ErrorMessage = "JobApi:Limits:RateLimiter must be Redis or Memory.")]
    public string RateLimiter { get; set; } = "Redis";

    [Range(1, 256, ErrorMessage = "JobApi:Limits:MaxJsonDepth must be between 1 and 256.")]
    public int MaxJsonDepth { get; set; } = 64;

    /// <summary>Longest string (value or property name) anywhere in a request body, in characters.</summary>
    [Range(1, int.MaxValue, ErrorMessage = "JobApi:Limits:MaxStringLength must be at least 1.")]
    public int MaxStringLength { get; set; } = 8 << 20;

    [Range(0, 3600, ErrorMessage = "JobApi:Limits:MaxWaitSeconds must be between 0 and 3600.")]
    public int MaxWaitSeconds { get; set; } = 60;

    /// <summary>Tenant events streams (<c>GET /v1/events</c>) open at once on one node; one more is refused (503).</summary>
    [Range(0, 100_000, ErrorMessage = "JobApi:Limits:MaxEventStreams must be between 0 and 100000.")]
    public int MaxEventStreams { get; set; } = 1_000;

    /// <summary>Unfinished jobs per tenant.</summary>
    [Range(0, int.MaxValue, ErrorMessage = "JobApi:Limits:MaxRunningJobsPerTenant must be 0 (off) or more.")]
    public long MaxRunningJobsPerTenant { get; set; } = 100_000;

    /// <summary>Shards of a tenant's unfinished jobs.</summary>
    [Range(0, long.MaxValue, ErrorMessage = "JobApi:Limits:MaxQueuedShardsPerTenant must be 0 (off) or more.")]
    public long MaxQueuedShardsPerTenant { get; set; } = 10_000_000;

    /// <summary>Bytes a tenant's unfinished jobs hold in Redis (input and shard payloads).</summary>
    [Range(0, long.MaxValue, ErrorMessage = "JobApi:Limits:MaxStoredBytesPerTenant must be 0 (off) or more.")]
    public long MaxStoredBytesPerTenant { get; set; } = 4L << 30;

    /// <summary>Submits are refused (503) while Redis uses more than this fraction of its <c>maxmemory</c>; 0 = off.</summary>
    [Range(0.0, 1.0, ErrorMessage = "JobApi:Limits:RedisMemoryFraction must be between 0 and 1.")]
    public double RedisMemoryFraction { get; set; } = 0.9;
}

public sealed class EmbeddedRedisOptions
{
    /// <summary>Where the embedded redis-server keeps its append-only file; relative paths are under the content root.</summary>
    public string DataDirectory { get; set; } = "data/redis";

    /// <summary>The redis-server executable (looked up on PATH when not rooted).</summary>
    public string Executable { get; set; } = "redis-server";

    /// <summary>redis-server's <c>appendfsync</c>: <c>always</c> (no accepted job lost on a crash), <c>everysec</c> (up to about 1 s) or <c>no</c>.</summary>
    [RegularExpression("^(always|everysec|no)$", ErrorMessage = "JobApi:EmbeddedRedis:AppendFsync must be 'always', 'everysec' or 'no'.")]
    public string AppendFsync { get; set; } = "always";
}

public sealed class DurabilityOptions
{
    /// <summary>Replicas that must confirm a submit (Redis WAIT) before 202.</summary>
    [Range(0, 16, ErrorMessage = "JobApi:Durability:WaitReplicas must be between 0 and 16.")]
    public int WaitReplicas { get; set; }
}

public sealed class SchedulerOptions
{
    /// <summary>How often every node looks for due delayed jobs, schedule ticks, job timeouts and webhooks.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00", ErrorMessage = "JobApi:Scheduler:PollInterval must be between 10 ms and 1 minute.")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a node may work on a claimed entry (a due job, a tick, a delivery) before another node takes it over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00", ErrorMessage = "JobApi:Scheduler:ClaimTimeout must be between 500 ms and 1 hour.")]
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a job waiting for dependencies is re-checked when no event woke it (the safety net).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00", ErrorMessage = "JobApi:Scheduler:DependencyRecheck must be between 50 ms and 1 hour.")]
    public TimeSpan DependencyRecheck { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class WebhookOptions
{
    /// <summary>HMAC-SHA256 key of the <c>X-JobApi-Signature</c> header; empty: callbacks are unsigned.</summary>
    public string? Secret { get; set; }

    /// <summary>Allow callbacks to loopback and private addresses (off: SSRF guard).</summary>
    public bool AllowLoopback { get; set; }

    [Range(1, 50, ErrorMessage = "JobApi:Webhooks:MaxAttempts must be between 1 and 50.")]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>Delay before the second attempt; it doubles per attempt (capped at 1 hour).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00", ErrorMessage = "JobApi:Webhooks:RetryBackoff must be between 10 ms and 1 hour.")]
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time limit of one delivery attempt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "JobApi:Webhooks:Timeout must be between 100 ms and 5 minutes.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class QueueOptions
{
    /// <summary>Queue partitions (each its own rotations, job indexes and scheduler sets, in hash slots of their own). 1 suits a
    /// single Redis; on Redis Cluster use a few per primary (e.g. 16) so no node is the hot spot. Every node of a
    /// deployment must use the same value, and it must not change while jobs are unfinished.</summary>
    [Range(1, 1024, ErrorMessage = "JobApi:Queue:Partitions must be between 1 and 1024.")]
    public int Partitions { get; set; } = 1;
}

public sealed class FaultOptions
{
    /// <summary>The process kills itself right after its Nth commit call returned (0 = never).</summary>
    public int CrashAfterCommits { get; set; }

    /// <summary>A merge run under the merge lease kills the process before storing the result.</summary>
    public bool CrashInMerge { get; set; }

    /// <summary><c>claimed</c> or <c>created</c>: the API process kills itself at that stage of a submit with an Idempotency-Key;
    /// <c>ran-ahead</c>: once the shard of a lone job of a kind that is short there ran in its submit, before the job is written.</summary>
    public string CrashInSubmit { get; set; } = "";

    public bool IsSet => CrashAfterCommits > 0 || CrashInMerge || CrashInSubmit.Length > 0;

    public override string ToString() => $"CrashAfterCommits={CrashAfterCommits} CrashInMerge={CrashInMerge} CrashInSubmit='{CrashInSubmit}'";
}
