using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace JobApi.Cli;

/// <summary>What the CLI prints: one JSON document with <c>--json</c>, otherwise tables, and a live progress
/// bar with the server's throughput and ETA when the console is interactive (plain progress lines on stderr when not).</summary>
public sealed class CliOutput(CliHost host, bool json)
{
    public void Json(JsonNode node, bool resultOnly = false) =>
        host.Out.WriteLine(json || !resultOnly ? node.ToJsonString() : CliApp.Pretty(node["result"] ?? node));

    public void Error(string message) => host.Error.WriteLine($"jobapi: {message}");

    public void Status(JsonNode status, bool idOnly = false)
    {
        if (json) { host.Out.WriteLine(status.ToJsonString()); return; }
        if (idOnly) { host.Out.WriteLine(status["id"]); return; }
        var shards = status["shards"]!;
        var table = new Table().HideHeaders().AddColumn("").AddColumn("");
        table.AddRow("id", Markup.Escape(status["id"]!.ToString()));
        table.AddRow("kind", Markup.Escape(status["kind"]!.ToString()));
        table.AddRow("state", Markup.Escape(JobClient.State(status)));
        table.AddRow("progress", $"{Percent(status)} ({shards["succeeded"]} succeeded, {shards["failed"]} failed, {shards["running"]} running, {shards["queued"]} queued of {shards["total"]})");
        table.AddRow("rate / eta", Markup.Escape($"{Rate(status)} / {Eta(status)}"));
        table.AddRow("created", Markup.Escape(status["createdAt"]?.ToString() ?? ""));
        if (status["finishedAt"] is { } finished) table.AddRow("finished", Markup.Escape(finished.ToString()));
        if (status["error"] is { } error) table.AddRow("error", Markup.Escape(error.ToString()));
        host.Console.Write(table);
    }

    public void List(JsonNode page)
    {
        if (json) { host.Out.WriteLine(page.ToJsonString()); return; }
        var table = new Table().AddColumns("id", "kind", "state", "progress", "shards", "created");
        foreach (var s in page["items"]!.AsArray())
            table.AddRow(Markup.Escape(s!["id"]!.ToString()), Markup.Escape(s["kind"]!.ToString()), Markup.Escape(JobClient.State(s)),
                Percent(s), $"{s["shards"]!["total"]}", Markup.Escape(s["createdAt"]?.ToString() ?? ""));
        host.Console.Write(table);
        if (page["nextCursor"] is { } next) host.Console.MarkupLine($"[grey]more: --cursor {Markup.Escape(next.ToString())}[/]");
    }

    /// <summary>Shows the job's progress until its final event; returns the final status.</summary>
    public async Task<JsonNode> FollowAsync(string id, IAsyncEnumerable<(string Event, JsonNode Status)> events)
    {
        JsonNode? last = null;
        if (!json && host.Console.Profile.Capabilities.Interactive)
        {
            await host.Console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(id, maxValue: 1);
                    await foreach (var (_, status) in events)
                    {
                        last = status;
                        task.Value = Progress(status);
                        task.Description = Markup.Escape($"{id} {JobClient.State(status)} {Rate(status)} eta {Eta(status)}");
                    }
                });
            return last ?? throw new IOException("The events stream ended without a status.");
        }
        var lastLine = DateTime.MinValue;
        await foreach (var (kind, status) in events)
        {
            last = status;
            if (json || (kind != "state" && DateTime.UtcNow - lastLine < TimeSpan.FromSeconds(1))) continue;
            host.Error.WriteLine($"{id} {JobClient.State(status)} {Percent(status)} {Rate(status)} eta {Eta(status)}");
            lastLine = DateTime.UtcNow;
        }
        return last ?? throw new IOException("The events stream ended without a status.");
    }

    private static double Progress(JsonNode s) => s["progress"]?.GetValue<double>() ?? 0;
    private static string Percent(JsonNode s) => Progress(s).ToString("P1", CultureInfo.InvariantCulture);
    private static string Rate(JsonNode s) => s["throughput"] is { } r ? $"{r.GetValue<double>().ToString("0.#", CultureInfo.InvariantCulture)} shards/s" : "-";

    private static string Eta(JsonNode s)
    {
        if (s["etaSeconds"] is not { } e) return "-";
        var t = TimeSpan.FromSeconds(e.GetValue<double>());
        return t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }
}
