namespace JobApi.Cli;

/// <summary>A usage error: the message is printed with a hint and the process exits with 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The command line: a command, its positional arguments, <c>--name value</c> (or <c>--name=value</c>)
/// options and the few flags that take no value.</summary>
public sealed class CliArgs
{
    private static readonly HashSet<string> Flags = ["json", "wait", "help", "version"];

    public string? Command { get; private init; }
    public List<string> Positional { get; } = [];
    public Dictionary<string, string> Options { get; } = new(StringComparer.Ordinal);
    public HashSet<string> SetFlags { get; } = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public static CliArgs Parse(IReadOnlyList<string> args)
    {
        var parsed = new CliArgs { Command = args.Count > 0 && !args[0].StartsWith('-') ? args[0] : null };
        for (var i = parsed.Command is null ? 0 : 1; i < args.Count; i++)
        {
            var a = args[i];
            if (a is "-h") a = "--help";
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                parsed.Positional.Add(a);
                continue;
            }
            var name = a[2..];
            string? value = null;
            var eq = name.IndexOf('=');
            if (eq >= 0) (name, value) = (name[..eq], name[(eq + 1)..]);
            if (Flags.Contains(name))
            {
                if (value is not null) throw new UsageException($"--{name} takes no value.");
                parsed.SetFlags.Add(name);
                continue;
            }
            if (value is null)
            {
                if (i + 1 >= args.Count) throw new UsageException($"--{name} needs a value.");
                value = args[++i];
            }
            if (!parsed.Options.TryAdd(name, value)) throw new UsageException($"--{name} is given twice.");
        }
        return parsed;
    }

    public bool Flag(string name) => SetFlags.Contains(name);

    public string? Option(string name)
    {
        _used.Add(name);
        return Options.GetValueOrDefault(name);
    }

    public int? IntOption(string name, int min, int max)
    {
        var text = Option(name);
        if (text is null) return null;
        if (!int.TryParse(text, out var n) || n < min || n > max) throw new UsageException($"--{name} must be a whole number from {min} to {max}.");
        return n;
    }

    /// <summary>The one positional argument a command needs (a job id, a kind).</summary>
    public string Single(string what)
    {
        if (Positional.Count == 0) throw new UsageException($"'{Command}' needs {what}.");
        if (Positional.Count > 1) throw new UsageException($"'{Command}' takes one {what}, got: {string.Join(' ', Positional)}.");
        return Positional[0];
    }

    /// <summary>Options no command asked for: refused, so that a typo is never ignored.</summary>
    public void RejectUnused()
    {
        var unused = Options.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unused.Count > 0) throw new UsageException($"Unknown option(s) for '{Command}': {string.Join(", ", unused.Select(u => "--" + u))}.");
    }

    /// <summary>Options not consumed so far (submit turns them into input fields).</summary>
    public IEnumerable<KeyValuePair<string, string>> Unused() => Options.Where(o => !_used.Contains(o.Key)).ToList();
}
