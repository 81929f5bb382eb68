using System.Text.Json;
using FluentValidation;
using JobApi.JobKinds;
using JobApi.Options;
using Microsoft.Extensions.Options;

namespace JobApi.Api;

/// <summary>The body of <c>POST /v1/jobs</c>.</summary>
public sealed class SubmitRequest
{
    /// <summary>A kind from <c>GET /v1/kinds</c>, e.g. <c>primes</c>.</summary>
    public string? Kind { get; set; }

    /// <summary>The kind's input; its schema is in <c>GET /v1/kinds</c>.</summary>
    public JsonElement Input { get; set; }

    /// <summary>Number of shards (1 to the configured maximum, 100,000 by default); the kind chooses when omitted.</summary>
    public int? Shards { get; set; }

    /// <summary>Attempts per shard before it is dead-lettered and the job fails (1..20, default 3).</summary>
    public int? MaxAttempts { get; set; }
}

/// <summary>Checks the envelope; the kind's own validator checks <c>input</c>.</summary>
public sealed class SubmitRequestValidator : AbstractValidator<SubmitRequest>
{
    public const int DefaultMaxAttempts = 3;

    public SubmitRequestValidator(JobKindRegistry kinds, IOptions<JobApiOptions> options)
    {
        var maxShards = options.Value.Limits.MaxShards;
        RuleFor(r => r.Kind).NotEmpty().WithMessage("kind is required.");
        RuleFor(r => r.Kind).Must(k => kinds.TryGet(k!, out _)).When(r => !string.IsNullOrEmpty(r.Kind))
            .WithMessage(r => $"Unknown kind '{r.Kind}'. Known kinds: {string.Join(", ", kinds.All.Select(k => k.Name))}.");
        RuleFor(r => r.Input).Must(i => i.ValueKind == JsonValueKind.Object).WithMessage("input must be a JSON object.");
        RuleFor(r => r.Shards).InclusiveBetween(1, maxShards).When(r => r.Shards is not null)
            .WithMessage($"shards must be between 1 and {maxShards}.");
        RuleFor(r => r.MaxAttempts).InclusiveBetween(1, 20).When(r => r.MaxAttempts is not null)
            .WithMessage("maxAttempts must be between 1 and 20.");
    }
}
