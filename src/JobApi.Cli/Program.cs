using JobApi.Cli;
using Spectre.Console;

return await CliApp.RunAsync(args, new CliHost(AnsiConsole.Console, Console.Out, Console.Error, Environment.GetEnvironmentVariable));
