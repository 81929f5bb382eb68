using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace JobApi.Cli;

/// <summary>Where the CLI runs: its output, its environment and (in tests) the HTTP handler to use.</summary>
public sealed record CliHost(IAnsiConsole Console, TextWriter Out, TextWriter Error, Func<string, string?> Environment, HttpMessageHandler? Handler = null);

/// <summary>
/// <c>jobapi</c>: submit, status, result, cancel, watch, list. Exit codes: 0 success, 1 a job that was
/// waited for (or watched) failed or was canceled, 2 usage error (also a request the API refused as invalid),
/// 3 any other API or network error.
/// </summary>
public static class CliApp
{
    public const int Ok = 0, JobFailed = 1, Usage = 2, ApiError = 3;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public const string Help = """
        jobapi - command-line client of JobApi

        Usage:
          jobapi submit KIND [--input JSON] [--FIELD VALUE ...] [--shards N] [--max-attempts N] [--idempotency-key K] [--wait]
          jobapi status ID          jobapi result ID [--wait-seconds N]
          jobapi cancel ID          jobapi watch ID
          jobapi list [--state STATE] [--kind KIND] [--limit N] [--cursor C]

        Options:
          --url URL        the service (env JOBAPI_URL, default http://localhost:8080)
          --api-key KEY    sent as X-Api-Key (env JOBAPI_API_KEY)
          --json           machine-readable output (one JSON document on stdout)
          --FIELD VALUE    on submit, sets input.FIELD (numbers such as 1e9 become integers): jobapi submit primes --to 1e9 --wait

        Exit codes: 0 success, 1 a waited or watched job failed or was canceled, 2 usage error, 3 API or network error.
        """;

    public static async Task<int> RunAsync(string[] args, CliHost host)
    {
        try
        {
            var cli = CliArgs.Parse(args);
            if (cli.Flag("version")) { host.Out.WriteLine(typeof(CliApp).Assembly.GetName().Version?.ToString(3)); return Ok; }
            if (cli.Flag("help") || cli.Command is null)
            {
                (cli.Command is null && !cli.Flag("help") ? host.Error : host.Out).WriteLine(Help);
                return cli.Command is null && !cli.Flag("help") ? Usage : Ok;
            }
            using var http = CreateHttp(cli, host);
            var client = new JobClient(http);
            var output = new CliOutput(host, cli.Flag("json"));
            return cli.Command switch
            {
                "submit" => await SubmitAsync(cli, client, output),
                "status" => await ShowAsync(cli, output, () => client.GetAsync($"/v1/jobs/{Id(cli)}")),
                "cancel" => await ShowAsync(cli, output, () => client.PostAsync($"/v1/jobs/{Id(cli)}/cancel")),
                "result" => await ResultAsync(cli, client, output),
                "watch" => await WatchAsync(Id(cli), cli, client, output),
                "list" => await ListAsync(cli, client, output),
                _ => throw new UsageException($"Unknown command '{cli.Command}'."),
            };
        }
        catch (UsageException e)
        {
            host.Error.WriteLine($"jobapi: {e.Message}\nRun 'jobapi --help' for usage.");
            return Usage;
        }
        catch (ApiException e) when (e.Status == HttpStatusCode.BadRequest)
        {
            host.Error.WriteLine($"jobapi: the request was refused: {e.Message}");
            if (e.Problem?["errors"] is JsonObject errors)
                foreach (var (field, messages) in errors)
                    host.Error.WriteLine($"  {field}: {string.Join(" ", messages?.AsArray().Select(m => m?.ToString()) ?? [])}");
            return Usage;
        }
        catch (ApiException e)
        {
            host.Error.WriteLine($"jobapi: {e.Message}");
            return ApiError;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            host.Error.WriteLine($"jobapi: cannot reach the service: {e.Message}");
            return ApiError;
        }
    }

    private static HttpClient CreateHttp(CliArgs cli, CliHost host)
    {
        var url = cli.Option("url") ?? host.Environment("JOBAPI_URL") ?? "http://localhost:8080";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
            throw new UsageException($"--url must be an absolute http(s) URL, got '{url}'.");
        var http = host.Handler is null ? new HttpClient() : new HttpClient(host.Handler, disposeHandler: false);
        http.BaseAddress = baseUri;
        http.Timeout = Timeout.InfiniteTimeSpan; // event streams and waits last as long as the job
        var key = cli.Option("api-key") ?? host.Environment("JOBAPI_API_KEY");
        if (!string.IsNullOrEmpty(key)) http.DefaultRequestHeaders.Add("X-Api-Key", key);
        return http;
    }

    private static string Id(CliArgs cli) => Uri.EscapeDataString(cli.Single("a job id"));

    private static async Task<int> SubmitAsync(CliArgs cli, JobClient client, CliOutput output)
    {
        var kind = cli.Single("a kind (see GET /v1/kinds)");
        var body = new JsonObject { ["kind"] = kind };
        var input = new JsonObject();
        if (cli.Option("input") is { } inputText)
        {
            try
            {
                input = JsonNode.Parse(inputText) as JsonObject ?? throw new UsageException("--input must be a JSON object.");
            }
            catch (JsonException e)
            {
                throw new UsageException($"--input is not valid JSON: {e.Message}");
            }
        }
        if (cli.IntOption("shards", 1, int.MaxValue) is { } shards) body["shards"] = shards;
        if (cli.IntOption("max-attempts", 1, int.MaxValue) is { } attempts) body["maxAttempts"] = attempts;
        var idempotencyKey = cli.Option("idempotency-key");
        cli.Option("url"); cli.Option("api-key");
        foreach (var (name, value) in cli.Unused())
        {
            cli.Option(name);
            input[name] = InputValue(value);
        }
        body["input"] = input;
        var status = await client.SubmitAsync(body, idempotencyKey);
        if (!cli.Flag("wait"))
        {
            output.Status(status, idOnly: true);
            return Ok;
        }
        return await WatchAsync(status["id"]!.GetValue<string>(), cli, client, output, printResult: true);
    }

    /// <summary>A command-line value as JSON: integers (1e9 too), other numbers, true/false, JSON arrays/objects, else a string.</summary>
    internal static JsonNode? InputValue(string text)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
            return d == Math.Floor(d) && Math.Abs(d) < 9e18 ? JsonValue.Create((long)d) : JsonValue.Create(d);
        if (text is "true" or "false") return text == "true";
        if (text.StartsWith('[') || text.StartsWith('{'))
        {
            try { return JsonNode.Parse(text); }
            catch (JsonException) { }
        }
        return text;
    }

    private static async Task<int> ShowAsync(CliArgs cli, CliOutput output, Func<Task<JsonNode>> call)
    {
        cli.RejectUnused();
        output.Status(await call());
        return Ok;
    }

    private static async Task<int> ResultAsync(CliArgs cli, JobClient client, CliOutput output)
    {
        var id = Id(cli);
        var wait = cli.IntOption("wait-seconds", 0, 60) ?? 0;
        cli.RejectUnused();
        try
        {
            output.Json(await client.GetAsync($"/v1/jobs/{id}/result?waitSeconds={wait}"), resultOnly: true);
            return Ok;
        }
        catch (ApiException e) when (e.Status == HttpStatusCode.Conflict && e.Problem?["state"]?.GetValue<string>() is "failed" or "canceled")
        {
            output.Error($"job {Uri.UnescapeDataString(id)} {e.Problem["state"]}: {e.Problem["error"]?.GetValue<string>() ?? "no result"}");
            return JobFailed;
        }
    }

    private static async Task<int> WatchAsync(string id, CliArgs cli, JobClient client, CliOutput output, bool printResult = false)
    {
        cli.RejectUnused();
        var final = await output.FollowAsync(id, client.FollowAsync(Uri.UnescapeDataString(id)));
        var succeeded = JobClient.State(final) == "succeeded";
        if (succeeded && printResult) output.Json(await client.GetAsync($"/v1/jobs/{id}/result"), resultOnly: true);
        else output.Status(final);
        return succeeded ? Ok : JobFailed;
    }

    private static async Task<int> ListAsync(CliArgs cli, JobClient client, CliOutput output)
    {
        var query = new List<string>();
        foreach (var name in new[] { "state", "kind", "cursor" })
            if (cli.Option(name) is { } v) query.Add($"{name}={Uri.EscapeDataString(v)}");
        if (cli.IntOption("limit", 1, 1000) is { } limit) query.Add($"limit={limit}");
        if (cli.Positional.Count > 0) throw new UsageException($"'list' takes no arguments, got: {string.Join(' ', cli.Positional)}.");
        cli.RejectUnused();
        output.List(await client.GetAsync("/v1/jobs" + (query.Count > 0 ? "?" + string.Join('&', query) : "")));
        return Ok;
    }

    internal static string Pretty(JsonNode node) => node.ToJsonString(Indented);
}
