using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;

namespace JobApi.JobKinds;

/// <summary>Input of <c>noop</c>: how long each shard sleeps and on how many first attempts it fails.</summary>
public sealed record NoopInput(int? SleepMs, int? FailTimes);

internal sealed record NoopPayload(int SleepMs, int FailTimes);

public sealed class NoopInputValidator : AbstractValidator<NoopInput>
{
    public NoopInputValidator()
    {
        RuleFor(x => x.SleepMs).InclusiveBetween(0, Noop.MaxSleepMs).WithMessage($"'sleepMs' must be between 0 and {Noop.MaxSleepMs}.");
        RuleFor(x => x.FailTimes).InclusiveBetween(0, Noop.MaxFailTimes).WithMessage($"'failTimes' must be between 0 and {Noop.MaxFailTimes}.");
    }
}

/// <summary>Does nothing, slowly if asked, and fails on purpose if asked: for testing the engine (leases,
/// retries, cancellation) without real work.</summary>
public sealed class Noop : JobKind<NoopInput>
{
    public const int MaxSleepMs = 60_000;
    public const int MaxFailTimes = 20;
    private static readonly NoopInputValidator InputValidator = new();

    public override string Name => "noop";
    public override string Description =>
        "Does nothing: each shard sleeps sleepMs (0..60000) and throws on its first failTimes (0..20) attempts. Result: { \"shards\" }.";

    public override JsonNode InputSchema => JsonNode.Parse($$"""
        {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "sleepMs": { "type": "integer", "minimum": 0, "maximum": {{MaxSleepMs}}, "default": 0, "description": "how long each shard sleeps, in milliseconds" },
            "failTimes": { "type": "integer", "minimum": 0, "maximum": {{MaxFailTimes}}, "default": 0, "description": "each shard fails on its first failTimes attempts" }
          }
        }
        """)!;

    public override JsonNode Example => JsonNode.Parse("""
        { "kind": "noop", "input": { "sleepMs": 100 }, "shards": 4 }
        """)!;

    protected override JsonTypeInfo<NoopInput> InputType => KindJsonContext.Default.NoopInput;
    protected override IValidator<NoopInput> Validator => InputValidator;

    protected override int DefaultShards(NoopInput input) => 1;

    protected override JobPlan Split(NoopInput input, int shards)
    {
        var payload = JsonSerializer.Serialize(new NoopPayload(input.SleepMs ?? 0, input.FailTimes ?? 0), KindJsonContext.Default.NoopPayload);
        return JobPlan.Of(Enumerable.Repeat(payload, shards).ToArray());
    }

    public override async ValueTask<string> ProcessShardAsync(ShardWork work, CancellationToken cancellationToken)
    {
        var payload = JsonSerializer.Deserialize(work.Payload, KindJsonContext.Default.NoopPayload)
            ?? throw new InvalidOperationException("noop: empty shard payload");
        if (payload.SleepMs > 0) await Task.Delay(payload.SleepMs, cancellationToken);
        if (work.Attempt <= payload.FailTimes)
            throw new InvalidOperationException($"noop: planned failure on attempt {work.Attempt}");
        return "{}";
    }

    public override string Merge(string mergeContext, IReadOnlyList<string> shardResults) =>
        new JsonObject { ["shards"] = shardResults.Count }.ToJsonString();
}
