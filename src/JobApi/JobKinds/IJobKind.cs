using System.Text.Json;
using System.Text.Json.Nodes;

namespace JobApi.JobKinds;

/// <summary>
/// A kind of computation: it validates its input, splits it into shards, computes one shard and merges
/// shard results. The engine stores payloads and results as opaque JSON strings; a kind must give the
/// same merged result for any shard count. Adding a kind is one class registered with
/// <c>services.AddJobKind&lt;T&gt;()</c>.
/// </summary>
public interface IJobKind
{
    string Name { get; }
    string Description { get; }
    /// <summary>JSON Schema of the submit body's <c>input</c>.</summary>
    JsonNode InputSchema { get; }
    /// <summary>A whole submit body that works as is.</summary>
    JsonNode Example { get; }

    /// <summary>Validates the input and splits it into shards. <paramref name="requestedShards"/> is the
    /// client's count (already range-checked) or null to let the kind choose, at most <paramref name="maxShards"/>.
    /// Asynchronous because an input may reference an upload (<c>inputRef</c>) whose size decides the split;
    /// <paramref name="tenant"/> is the tenant the job is for: an upload of another tenant is unknown to it.</summary>
    ValueTask<JobPlan> PlanAsync(JsonElement input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken = default);

    /// <summary>Computes one shard. Returns the shard result as JSON. Throwing marks the attempt failed.</summary>
    ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken);

    /// <summary>Merges shard results (index order, one per shard) into the job result JSON. Kinds that also
    /// implement <see cref="IStreamingMerge"/> are merged through it instead.</summary>
    string Merge(string mergeContext, IReadOnlyList<string> shardResults);
}

/// <summary>What a worker gets for one shard attempt.</summary>
/// <param name="JobId">the job</param>
/// <param name="Index">shard index, 0-based</param>
/// <param name="Attempt">1 on the first attempt</param>
/// <param name="Payload">the payload the kind produced for this shard at split time</param>
public sealed record ShardWork(string JobId, int Index, int Attempt, string Payload);

/// <summary>The outcome of <see cref="IJobKind.PlanAsync"/>: either errors (field path relative to <c>input</c>
/// → messages) or one payload per shard plus a small context that the merge needs.</summary>
public sealed class JobPlan
{
    private JobPlan(IReadOnlyDictionary<string, string[]>? errors, IReadOnlyList<string> payloads, string context)
    {
        Errors = errors;
        ShardPayloads = payloads;
        MergeContext = context;
    }

    public IReadOnlyDictionary<string, string[]>? Errors { get; }
    public IReadOnlyList<string> ShardPayloads { get; }
    public string MergeContext { get; }
    public bool IsValid => Errors is null;

    public static JobPlan Invalid(IReadOnlyDictionary<string, string[]> errors) => new(errors, [], "");
    public static JobPlan Invalid(string field, string message) =>
        Invalid(new Dictionary<string, string[]> { [field] = [message] });
    public static JobPlan Of(IReadOnlyList<string> payloads, string mergeContext = "{}") => new(null, payloads, mergeContext);
}
