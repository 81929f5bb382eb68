using System.Text.Json.Serialization;

namespace JobApi.JobKinds;

/// <summary>Source-generated JSON for the built-in kinds' inputs, shard payloads, shard results and merge
/// contexts. Strict on purpose: camelCase names only, numbers must be JSON numbers, and unknown or
/// repeated fields are errors.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(PrimesInput))]
[JsonSerializable(typeof(PrimesRange))]
[JsonSerializable(typeof(PrimesShardResult))]
[JsonSerializable(typeof(WordCountInput))]
[JsonSerializable(typeof(WordCountPiece))]
[JsonSerializable(typeof(WordCountMergeContext))]
[JsonSerializable(typeof(NoopInput))]
[JsonSerializable(typeof(NoopPayload))]
[JsonSerializable(typeof(SortInput))]
[JsonSerializable(typeof(SortPayload))]
[JsonSerializable(typeof(SortContext))]
[JsonSerializable(typeof(StatsInput))]
[JsonSerializable(typeof(StatsContext))]
[JsonSerializable(typeof(HashInput))]
[JsonSerializable(typeof(HashPayload))]
[JsonSerializable(typeof(HashContext))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(MatMulInput))]
[JsonSerializable(typeof(MatMulBlock))]
[JsonSerializable(typeof(double[][]))]
[JsonSerializable(typeof(MonteCarloPiInput))]
[JsonSerializable(typeof(MonteCarloRange))]
[JsonSerializable(typeof(MonteCarloShardResult))]
[JsonSerializable(typeof(MonteCarloInput))]
[JsonSerializable(typeof(MonteCarloShard))]
[JsonSerializable(typeof(MonteCarloSums))]
[JsonSerializable(typeof(MonteCarloContext))]
internal sealed partial class KindJsonContext : JsonSerializerContext;
