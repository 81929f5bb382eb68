using Spectre.Console;

namespace JobApi.Cli;

internal static class EntryPoint
{
    public static Task<int> Main(string[] args) =>
        CliApp.RunAsync(args, new CliHost(AnsiConsole.Console, Console.Out, Console.Error, Environment.GetEnvironmentVariable));
}
