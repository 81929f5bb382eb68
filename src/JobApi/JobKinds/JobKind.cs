using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;

namespace JobApi.JobKinds;

/// <summary>Base for kinds with a typed input: deserializes it strictly (no type names, no comments,
/// numbers must be numbers), runs the kind's FluentValidation validator, then splits.</summary>
public abstract class JobKind<TInput> : IJobKind where TInput : class
{
    public abstract string Name { get; }
    public abstract string Description { get; }
    public abstract JsonNode InputSchema { get; }
    public abstract JsonNode Example { get; }
    protected abstract JsonTypeInfo<TInput> InputType { get; }
    protected abstract IValidator<TInput> Validator { get; }

    /// <summary>The shard count when the client names none.</summary>
    protected abstract int DefaultShards(TInput input);
    protected abstract JobPlan Split(TInput input, int shards);

    /// <summary>Splits a valid input; kinds that read uploads (<c>inputRef</c>) override this to look the upload up.</summary>
    protected virtual ValueTask<JobPlan> SplitAsync(TInput input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Split(input, ShardCount(requestedShards ?? DefaultShards(input), maxShards)));

    protected static int ShardCount(long wanted, int maxShards) => (int)Math.Clamp(wanted, 1, Math.Max(1, maxShards));

    public async ValueTask<JobPlan> PlanAsync(JsonElement input, int? requestedShards, int maxShards, string tenant, CancellationToken cancellationToken = default)
    {
        if (input.ValueKind != JsonValueKind.Object)
            return JobPlan.Invalid("input", "input must be a JSON object.");
        TInput? parsed;
        try
        {
            parsed = input.Deserialize(InputType);
        }
        catch (JsonException e)
        {
            var path = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "input" : "input" + e.Path.TrimStart('$');
            return JobPlan.Invalid(path, Describe(e, path));
        }
        if (parsed is null) return JobPlan.Invalid("input", "input is required.");
        var result = Validator.Validate(parsed);
        if (!result.IsValid)
        {
            return JobPlan.Invalid(result.Errors
                .GroupBy(f => string.IsNullOrEmpty(f.PropertyName) ? "input" : "input." + JsonNamingPolicy.CamelCase.ConvertName(f.PropertyName))
                .ToDictionary(g => g.Key, g => g.Select(f => f.ErrorMessage).ToArray()));
        }
        return await SplitAsync(parsed, requestedShards, maxShards, tenant, cancellationToken);
    }

    public abstract ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken);
    public abstract string Merge(string mergeContext, IReadOnlyList<string> shardResults);

    /// <summary>A message that names the field without leaking .NET type names from the serializer's text.</summary>
    private static string Describe(JsonException e, string path)
    {
        var field = path == "input" ? "input" : $"'{(path.StartsWith("input.", StringComparison.Ordinal) ? path[6..] : path[5..])}'";
        if (e.Message.Contains("could not be mapped", StringComparison.Ordinal)) return $"{field} is not a known field.";
        if (e.Message.StartsWith("Duplicate property", StringComparison.Ordinal)) return $"{field} is given more than once.";
        return $"{field} has the wrong type or is out of range.";
    }
}
