using System.Text;
using System.Text.Json;
using FluentValidation;
using JobApi.Engine;
using JobApi.JobKinds;
using JobApi.Options;
using Microsoft.Extensions.Options;

namespace JobApi.Api;

/// <summary>The body of <c>POST /v1/jobs</c>.</summary>
[Microsoft.AspNetCore.Mvc.ModelBinding.Validation.ValidateNever]
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

    /// <summary>Higher runs first (-1000..1000, default 0); lower priorities still get a share of the workers.</summary>
    public int? Priority { get; set; }

    /// <summary>Start no sooner than this many seconds from now (0..31,536,000); the job is <c>waiting</c> until then.</summary>
    public long? DelaySeconds { get; set; }

    /// <summary>Start no sooner than this time (ISO 8601, at most a year ahead); the job is <c>waiting</c> until then.</summary>
    public DateTimeOffset? RunAt { get; set; }

    /// <summary>Job ids (up to 100) that must succeed first; the job is <c>waiting</c> until they have, and
    /// <c>canceled</c> (with an error naming the dependency) when one of them fails or is canceled.</summary>
    public List<string>? DependsOn { get; set; }

    /// <summary>Seconds the job may run, counted from its start (1..2,592,000); over it the job fails.</summary>
    public int? TimeoutSeconds { get; set; }

    /// <summary>Receives <c>POST</c> of the job status once the job ends, signed in <c>X-JobApi-Signature</c>.</summary>
    public string? CallbackUrl { get; set; }

    /// <summary>Seconds the finished job and its data are kept (1..315,360,000); overrides <c>JobApi:Retention</c>.</summary>
    public long? RetainSeconds { get; set; }

    /// <summary>The engine's view of the fields beyond the work itself.</summary>
    public SubmitOptions ToOptions() => new(
        Priority ?? 0, DelaySeconds is > 0 ? DelaySeconds * 1000 : null, RunAt?.ToUnixTimeMilliseconds(),
        DependsOn is { Count: > 0 } ? DependsOn.Distinct(StringComparer.Ordinal).ToList() : null,
        TimeoutSeconds * 1000L, CallbackUrl, RetainSeconds * 1000);
}

/// <summary>Checks the envelope; the kind's own validator checks <c>input</c>.</summary>
public sealed class SubmitRequestValidator : AbstractValidator<SubmitRequest>
{
    public const int DefaultMaxAttempts = 3;
    public const int MaxDependencies = 100;

    public SubmitRequestValidator(JobKindRegistry kinds, JobStore store, IOptions<JobApiOptions> options)
    {
        var maxShards = options.Value.Limits.MaxShards;
        var allowLoopback = options.Value.Webhooks.AllowLoopback;
        RuleFor(r => r.Kind).NotEmpty().WithMessage("kind is required.");
        RuleFor(r => r.Kind).Must(k => kinds.TryGet(k!, out _)).When(r => !string.IsNullOrEmpty(r.Kind))
            .WithMessage(r => $"Unknown kind '{r.Kind}'. Known kinds: {string.Join(", ", kinds.All.Select(k => k.Name))}.");
        RuleFor(r => r.Input).Must(i => i.ValueKind == JsonValueKind.Object).WithMessage("input must be a JSON object.");
        RuleFor(r => r.Shards).InclusiveBetween(1, maxShards).When(r => r.Shards is not null)
            .WithMessage($"shards must be between 1 and {maxShards} (JobApi:Limits:MaxShards).");
        var maxString = options.Value.Limits.MaxStringLength;
        RuleFor(r => r.Input).Custom((input, context) =>
        {
            if (JsonLimits.FindLongString(input, maxString, "input") is { } path)
                context.AddFailure(path, $"{path} has a string longer than {maxString} characters (JobApi:Limits:MaxStringLength).");
        });
        RuleFor(r => r.MaxAttempts).InclusiveBetween(1, 20).When(r => r.MaxAttempts is not null)
            .WithMessage("maxAttempts must be between 1 and 20.");
        RuleFor(r => r.Priority).InclusiveBetween(-1000, 1000).When(r => r.Priority is not null)
            .WithMessage("priority must be between -1000 and 1000.");
        RuleFor(r => r.DelaySeconds).InclusiveBetween(0, 31_536_000).When(r => r.DelaySeconds is not null)
            .WithMessage("delaySeconds must be between 0 and 31536000 (a year).");
        RuleFor(r => r.RunAt).Null().When(r => r.DelaySeconds is not null).WithMessage("Give either delaySeconds or runAt, not both.");
        RuleFor(r => r.RunAt).Must(t => t <= DateTimeOffset.UtcNow.AddDays(366)).When(r => r.RunAt is not null)
            .WithMessage("runAt must be at most a year ahead.");
        RuleFor(r => r.TimeoutSeconds).InclusiveBetween(1, 2_592_000).When(r => r.TimeoutSeconds is not null)
            .WithMessage("timeoutSeconds must be between 1 and 2592000 (30 days).");
        RuleFor(r => r.RetainSeconds).InclusiveBetween(1, 315_360_000).When(r => r.RetainSeconds is not null)
            .WithMessage("retainSeconds must be between 1 and 315360000 (3650 days).");
        RuleFor(r => r.CallbackUrl!).Custom((url, context) =>
        {
            if (CallbackUrls.Problem(url, allowLoopback) is { } problem) context.AddFailure("callbackUrl", problem);
        }).When(r => r.CallbackUrl is not null);
        RuleFor(r => r.DependsOn).Must(d => d!.Count <= MaxDependencies).When(r => r.DependsOn is not null)
            .WithMessage($"dependsOn may name at most {MaxDependencies} jobs.");
        RuleFor(r => r.DependsOn!).CustomAsync(async (ids, context, _) =>
        {
            if (ids.Count > MaxDependencies) return;
            var states = await store.StatesAsync(ids);
            for (var i = 0; i < ids.Count; i++)
                if (states[i] is null) context.AddFailure("dependsOn", $"dependsOn[{i}]: there is no job '{ids[i]}'.");
        }).When(r => r.DependsOn is { Count: > 0 });
    }
}

/// <summary>Walks a JSON value for the longest-string limit (values and property names) without copying strings.</summary>
public static class JsonLimits
{
    /// <summary>The path of the first string longer than <paramref name="max"/> characters, or null.</summary>
    public static string? FindLongString(JsonElement element, int max, string path)
    {
        var trail = new Stack<string>();
        if (!Find(element, max, trail)) return null;
        return path + string.Concat(trail);
    }

    private static bool Find(JsonElement element, int max, Stack<string> trail)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return TooLong(element, max);
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    // Measured as raw UTF-8 bytes: decoding a name would throw on invalid UTF-8, which the kind reports.
                    if (System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(p).Length > max) return true;
                    if (!Find(p.Value, max, trail)) continue;
                    trail.Push("." + Encoding.UTF8.GetString(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(p)));
                    return true;
                }
                return false;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Find(item, max, trail))
                    {
                        trail.Push($"[{i}]");
                        return true;
                    }
                    i++;
                }
                return false;
            default:
                return false;
        }
    }

    /// <summary>The raw UTF-8 (with quotes and escapes) is never shorter than the text, so only long ones are decoded.</summary>
    private static bool TooLong(JsonElement element, int max)
    {
        if (System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element).Length - 2 <= max) return false;
        try
        {
            return element.GetString()!.Length > max;
        }
        catch (InvalidOperationException)
        {
            return false; // invalid UTF-8: the kind's strict reading reports it as a 400
        }
    }
}
