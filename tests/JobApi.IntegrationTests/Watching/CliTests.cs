using System.Text.Json;
using JobApi.Cli;
using Spectre.Console;

namespace JobApi.IntegrationTests.Watching;

/// <summary>The <c>jobapi</c> CLI against the real service (in-process, over its HTTP handler): exit codes and --json output.</summary>
[Collection(RedisCollection.Name)]
public sealed class CliTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    private async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(stdout),
        });
        var env = new Dictionary<string, string?> { ["JOBAPI_URL"] = "http://localhost" };
        var code = await CliApp.RunAsync(args, new CliHost(console, stdout, stderr, n => env.GetValueOrDefault(n), Factory.Server.CreateHandler()));
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Fact]
    public async Task Submit_with_wait_and_json_prints_the_result_and_exits_0()
    {
        var (code, output, error) = await RunAsync("submit", "primes", "--from", "0", "--to", "1e5", "--shards", "4", "--wait", "--json");
        Assert.True(code == 0, error);
        var result = Json(output).GetProperty("result");
        Assert.Equal(9592, result.GetProperty("count").GetInt64()); // π(10^5)
        Assert.Equal(454396537, result.GetProperty("sum").GetInt64());
    }

    [Fact]
    public async Task A_waited_job_that_fails_exits_1_with_its_final_status()
    {
        var (code, output, _) = await RunAsync("submit", "noop", "--input", """{"sleepMs":0,"failTimes":5}""", "--max-attempts", "1", "--wait", "--json");
        Assert.Equal(1, code);
        var status = Json(output);
        Assert.Equal("failed", status.State());
        Assert.Equal(1, (await RunAsync("result", status.Id())).Code);
        Assert.Equal(1, (await RunAsync("watch", status.Id())).Code);
    }

    [Fact]
    public async Task Status_list_watch_and_cancel_print_json_documents_of_the_api()
    {
        var (code, output, _) = await RunAsync("submit", "noop", "--sleepMs", "60000", "--shards", "2", "--json");
        Assert.Equal(0, code);
        var id = Json(output).Id();
        var status = await RunAsync("status", id, "--json");
        Assert.Equal((0, id), (status.Code, Json(status.Out).Id()));
        var list = await RunAsync("list", "--limit", "1000", "--json");
        Assert.Contains(id, Json(list.Out).GetProperty("items").EnumerateArray().Select(j => j.Id()));
        var canceled = await RunAsync("cancel", id, "--json");
        Assert.Equal((0, "canceled"), (canceled.Code, Json(canceled.Out).State()));
        var watched = await RunAsync("watch", id, "--json");
        Assert.Equal((1, "canceled"), (watched.Code, Json(watched.Out).State()));
    }

    [Fact]
    public async Task Plain_submit_prints_the_job_id_and_status_prints_a_table()
    {
        var (code, output, _) = await RunAsync("submit", "noop", "--sleepMs", "0");
        Assert.Equal(0, code);
        var id = output.Trim();
        Assert.Equal(26, id.Length);
        await Client.WaitForFinalAsync(id);
        var status = await RunAsync("status", id);
        Assert.Equal(0, status.Code);
        Assert.Contains(id, status.Out);
        Assert.Contains("succeeded", status.Out);
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("status")]
    [InlineData("status", "a", "b")]
    [InlineData("submit", "noop", "--input", "{not json")]
    [InlineData("submit", "nokind")]
    [InlineData("submit", "noop", "--shards", "0")]
    [InlineData("list", "--limit")]
    [InlineData("list", "--colour", "red")]
    [InlineData("status", "X", "--url", "ftp://x")]
    public async Task Usage_errors_exit_2_with_a_message(params string[] args)
    {
        var (code, _, error) = await RunAsync(args);
        Assert.Equal(2, code);
        Assert.StartsWith("jobapi:", error);
    }

    [Fact]
    public async Task An_unknown_job_exits_3()
    {
        var (code, _, error) = await RunAsync("status", "01M8AG73CVN8X191GNX9ADHY5V");
        Assert.Equal(3, code);
        Assert.Contains("404", error);
    }

    [Fact]
    public void Command_line_values_become_json_input_values()
    {
        Assert.Equal(1_000_000_000L, CliApp.InputValue("1e9")!.GetValue<long>());
        Assert.Equal(-5L, CliApp.InputValue("-5")!.GetValue<long>());
        Assert.Equal(0.5, CliApp.InputValue("0.5")!.GetValue<double>());
        Assert.True(CliApp.InputValue("true")!.GetValue<bool>());
        Assert.Equal("hello world", CliApp.InputValue("hello world")!.GetValue<string>());
        Assert.Equal(2, CliApp.InputValue("""["a","b"]""")!.AsArray().Count);
    }
}
