using StackExchange.Redis;

namespace JobApi.Engine;

/// <summary>The engine's Lua scripts, embedded as resources. Each job script is <c>common.lua</c> followed by
/// its own body; StackExchange.Redis sends it with EVALSHA once loaded.</summary>
public static class LuaScripts
{
    public static readonly string Submit = Load("submit");
    public static readonly string Lease = Load("lease");
    public static readonly string Renew = Load("renew");
    public static readonly string Commit = Load("commit");
    public static readonly string Fail = Load("fail");
    public static readonly string Release = Load("release");
    public static readonly string Finish = Load("finish");
    public static readonly string Cancel = Load("cancel");
    public static readonly string MergeFailed = Load("merge_failed");
    public static readonly string Status = Load("status");
    public static readonly string Promote = Load("promote");
    public static readonly string Link = Load("link");
    public static readonly string Timeout = Load("timeout");
    public static readonly string Delete = Load("delete");
    public static readonly string Webhook = Load("webhook");
    public static readonly string Retry = Load("retry");
    /// <summary><see cref="Lease"/> and <see cref="Commit"/> for several jobs in one script call (many.lua), on a Redis
    /// that is not a cluster.</summary>
    public static readonly string LeaseMany = Many("lease");
    public static readonly string CommitMany = Many("commit");
    /// <summary>A plain submit in one script call on a Redis that is not a cluster: quota.lua, the index entries,
    /// submit.lua, enter.lua and the nudge (submit_whole.lua).</summary>
    public static readonly string SubmitWhole = Read("common") + "\n" + Function("reserve", "quota") + Function("create", "submit")
        + Function("enter", "enter") + Read("submit_whole");
    /// <summary>Not job scripts: they work on the rotation of active jobs alone.</summary>
    public static readonly string Rotate = Read("rotate");
    public static readonly string Enter = Read("enter");
    /// <summary>Input scripts touch one input's keys only, so they go without <c>common.lua</c>.</summary>
    public static readonly string InputComplete = Read("input_complete");
    public static readonly string InputTouch = Read("input_touch");
    public static readonly string Drop = Read("drop");
    /// <summary>Not job scripts: the scheduler's "look at it now" sets and the schedules.</summary>
    public static readonly string Claim = Read("claim");
    public static readonly string Advance = Read("advance");
    /// <summary>Not a job script: per-tenant quota counters in the tenant's slot.</summary>
    public static readonly string Quota = Read("quota");
    /// <summary>Not a job script: the request rate shared by the API nodes.</summary>
    public static readonly string Rate = Read("rate");

    private static string Load(string name) => Read("common") + "\n" + Read(name);

    /// <summary>A script as a local function of its own KEYS and ARGV, for a script that calls it.</summary>
    private static string Function(string function, string name) => $"local function {function}(KEYS, ARGV)\n{Read(name)}\nend\n";

    private static string Many(string name) => Read("common") + "\n" + Function("one", name) + Read("many");

    private static string Read(string name)
    {
        var assembly = typeof(LuaScripts).Assembly;
        var resource = assembly.GetManifestResourceNames().Single(n => n.EndsWith($".Scripts.{name}.lua", StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Runs a job script with the job's data keys first, then <paramref name="extraKeys"/>.</summary>
    public static Task<RedisResult> RunAsync(this IDatabaseAsync db, string script, JobKeys job, RedisValue[] args, params RedisKey[] extraKeys)
    {
        var call = JobCall.For(job, args, extraKeys);
        return db.EvaluateAsync(script, call.Keys, call.Args);
    }

    /// <summary>Runs one job script (built by <see cref="Many"/>) for several calls in one script call; the reply holds
    /// one reply per call, in order. Only on a Redis that is not a cluster: the calls' keys are in different slots. The
    /// keys are not sent: many.lua makes each from the job's key base when the script uses it.</summary>
    public static Task<RedisResult> RunManyAsync(this IDatabaseAsync db, string script, IReadOnlyList<JobCall> calls)
    {
        var argCount = 1;
        foreach (var call in calls) argCount += 2 + call.Args.Length;
        var args = new RedisValue[argCount];
        args[0] = calls.Count;
        var a = 1;
        foreach (var call in calls)
        {
            args[a++] = call.Job.Base;
            args[a++] = call.Args.Length;
            call.Args.CopyTo(args, a);
            a += call.Args.Length;
        }
        return db.EvaluateAsync(script, [], args);
    }

    /// <summary>
    /// Every script goes through here. While a Redis Cluster slot migrates between primaries, a script whose keys
    /// are split between the two nodes (or that the target cannot serve yet) is refused with <c>TRYAGAIN</c>: it did
    /// not run, so sending it again is safe. It is sent again after a short backoff until the migration ends
    /// (<c>MOVED</c> and <c>ASK</c> are followed by StackExchange.Redis itself), within a bounded budget
    /// (about 3 s); past it the error goes to the caller as any Redis error. The first call is queued synchronously,
    /// so a batch's <c>Execute</c> still sends it; the retries go on the multiplexer's database.
    /// </summary>
    public static Task<RedisResult> EvaluateAsync(this IDatabaseAsync db, string script, RedisKey[] keys, RedisValue[] args) =>
        SlotRetry.RunAsync(BySha(db, script, keys, args), () => db.Multiplexer.GetDatabase().ScriptEvaluateAsync(script, keys, args));

    /// <summary>SHA1 of each script above, looked up by the string's identity. StackExchange.Redis finds the SHA1 of a
    /// script given as text by hashing the whole text on every call (10-15 KB with <c>common.lua</c>: about 3 % of an API
    /// node's CPU with one job at a time); these are hashed once.</summary>
    private static readonly Dictionary<string, byte[]> Hashes = typeof(LuaScripts)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.FieldType == typeof(string))
        .Select(f => (string)f.GetValue(null)!)
        .Distinct()
        .ToDictionary(s => s, s => System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(s)),
            (IEqualityComparer<string>)ReferenceEqualityComparer.Instance);

    /// <summary>EVALSHA of one of the scripts above by its SHA1, on a single standalone server; a server that does not
    /// have it (restarted or flushed) answers NOSCRIPT, and the script then goes as text, which loads it. Any other
    /// script, and every script on a cluster or a primary with replicas, goes as text: StackExchange.Redis keeps track
    /// of which node has loaded what (sent by hash across a failover on a cluster under load, calls queued for a node
    /// that had gone stalled the workers).</summary>
    private static Task<RedisResult> BySha(IDatabaseAsync db, string script, RedisKey[] keys, RedisValue[] args) =>
        Hashes.TryGetValue(script, out var sha) && RedisTopology.Of(db.Multiplexer).SingleStandalone
            ? LoadWhenMissing(db.ScriptEvaluateAsync(sha, keys, args), db, script, keys, args)
            : db.ScriptEvaluateAsync(script, keys, args);

    private static async Task<RedisResult> LoadWhenMissing(Task<RedisResult> bySha, IDatabaseAsync db, string script, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return await bySha;
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await db.Multiplexer.GetDatabase().ScriptEvaluateAsync(script, keys, args);
        }
    }
}

/// <summary>One call of a job script: its job, its arguments and the keys it takes after the job's data keys.</summary>
public readonly record struct JobCall(JobKeys Job, RedisValue[] Args, RedisKey[] ExtraKeys)
{
    /// <summary>The call of a job script on <paramref name="job"/>: its data keys first, then <paramref name="extraKeys"/>.</summary>
    public static JobCall For(JobKeys job, RedisValue[] args, params RedisKey[] extraKeys) => new(job, args, extraKeys);

    /// <summary>The keys of the call made alone: the job's data keys, then its own.</summary>
    public RedisKey[] Keys => ExtraKeys.Length == 0 ? Job.DataKeys : [.. Job.DataKeys, .. ExtraKeys];
}
