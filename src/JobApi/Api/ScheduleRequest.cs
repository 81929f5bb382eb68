using System.Text.Json;
using FluentValidation;
using JobApi.Engine;
using JobApi.JobKinds;
using JobApi.Options;
using Microsoft.Extensions.Options;

namespace JobApi.Api;

/// <summary>The body of <c>POST /v1/schedules</c>.</summary>
public sealed class ScheduleRequest
{
    /// <summary>Cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first.</summary>
    public string? Cron { get; set; }

    /// <summary>IANA time zone the expression is read in (default <c>UTC</c>), e.g. <c>Europe/Paris</c>.</summary>
    public string? TimeZone { get; set; }

    /// <summary>The submit body of each job it starts (as for <c>POST /v1/jobs</c>, without <c>runAt</c> or <c>dependsOn</c>).</summary>
    public SubmitRequest? Job { get; set; }
}

/// <summary>Checks the expression, the time zone and the job (envelope and the kind's input).</summary>
public sealed class ScheduleRequestValidator : AbstractValidator<ScheduleRequest>
{
    private const string TenantKey = "tenant";

    /// <summary>What to validate: the request and the tenant it is for (an <c>inputRef</c> must name one of its inputs).</summary>
    public static ValidationContext<ScheduleRequest> ContextFor(ScheduleRequest request, string tenant) =>
        new(request) { RootContextData = { [TenantKey] = tenant } };

    public ScheduleRequestValidator(IValidator<SubmitRequest> jobValidator, JobKindRegistry kinds, IOptions<JobApiOptions> options)
    {
        RuleFor(r => r.Cron).Must(c => ScheduleDefinition.ParseCron(c) is not null)
            .WithMessage("cron must be a cron expression of 5 fields, or 6 with seconds first (e.g. \"*/5 * * * * *\").");
        RuleFor(r => r.TimeZone).Must(z => ScheduleDefinition.FindZone(z) is not null).When(r => r.TimeZone is not null)
            .WithMessage(r => $"Unknown timeZone '{r.TimeZone}'; use an IANA id such as \"UTC\" or \"Europe/Paris\".");
        RuleFor(r => r.Job).NotNull().WithMessage("job is required: the submit body of the jobs this schedule starts.");
        RuleFor(r => r.Job!).SetValidator(jobValidator).When(r => r.Job is not null);
        RuleFor(r => r.Job!.RunAt).Null().When(r => r.Job is not null).WithMessage("job.runAt is not allowed in a schedule (use job.delaySeconds).");
        RuleFor(r => r.Job!.DependsOn).Null().When(r => r.Job is not null).WithMessage("job.dependsOn is not allowed in a schedule.");
        RuleFor(r => r.Job!).CustomAsync(async (job, context, cancellationToken) =>
        {
            if (job.Kind is null || !kinds.TryGet(job.Kind, out var kind) || job.Input.ValueKind != JsonValueKind.Object) return;
            var tenant = context.RootContextData.TryGetValue(TenantKey, out var t) && t is string name ? name : Tenants.Default;
            var plan = await kind.PlanAsync(job.Input, job.Shards, options.Value.Limits.MaxShards, tenant, cancellationToken);
            foreach (var (field, messages) in plan.Errors ?? new Dictionary<string, string[]>())
                foreach (var message in messages) context.AddFailure("job." + field, message);
        }).When(r => r.Job is not null);
    }
}
