using System.Globalization;
using System.Text;
using System.Text.Json;
using JobApi.Inputs;

namespace JobApi.JobKinds;

/// <summary>Where the values of <c>sort</c> and <c>stats</c> come from: inline JSON numbers, text lines of an
/// upload, or generated int64 values range-partitioned between shards.</summary>
internal static class RunSources
{
    /// <summary>The shard payload that sort and stats share, as JSON.</summary>
    public static string Serialize(SortPayload payload) => JsonSerializer.Serialize(payload, KindJsonContext.Default.SortPayload);

    /// <summary>The whole lines of an upload that a payload's byte range covers.</summary>
    public static async Task<byte[]> ReadRangeAsync(IInputStore inputs, SortPayload p, CancellationToken cancellationToken)
    {
        var input = await inputs.FindAsync(p.InputRef!, cancellationToken) ?? throw new InputGoneException(p.InputRef!);
        return await InputRange.ReadRecordsAsync(inputs, input, p.Start, p.End, InputRange.IsNewline, cancellationToken);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Whether every element is a finite JSON number.</summary>
    public static bool AreNumbers(JsonElement? values) =>
        values is { ValueKind: JsonValueKind.Array } a && a.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Number && double.IsFinite(v.GetDouble()));

    /// <summary>The raw JSON of elements [start, end) of a number array, for a shard payload.</summary>
    public static string Slice(JsonElement values, int start, int end) =>
        "[" + string.Join(",", values.EnumerateArray().Skip(start).Take(end - start).Select(v => v.GetRawText())) + "]";

    /// <summary>Numbers as int64 while every one is an integer that fits, otherwise (from the first that is not) as doubles.</summary>
    public static SortedRun ParseNumbers(JsonElement values)
    {
        var ints = new List<long>();
        List<double>? doubles = null;
        foreach (var v in values.EnumerateArray()) Add(v.TryGetInt64(out var l) ? l : null, v.GetDouble(), ints, ref doubles);
        return SortedRun.OfNumbers(ints, doubles);
    }

    /// <summary>Lines of UTF-8 text, split at '\n' (a last line without one counts; no empty line after a final '\n').</summary>
    public static string[] Lines(byte[] data)
    {
        var text = StrictUtf8.GetString(data);
        if (text.Length == 0) return [];
        var lines = text.Split('\n');
        return text.EndsWith('\n') ? lines[..^1] : lines;
    }

    /// <summary>One number a line (blank lines are skipped); throws on a line that is not a finite number.</summary>
    public static SortedRun ParseNumberLines(byte[] data)
    {
        var ints = new List<long>();
        List<double>? doubles = null;
        foreach (var raw in Lines(data))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            if (long.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) Add(l, l, ints, ref doubles);
            else if (double.TryParse(line, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) Add(null, d, ints, ref doubles);
            else throw new FormatException($"'{(line.Length > 40 ? line[..40] + "..." : line)}' is not a number.");
        }
        return SortedRun.OfNumbers(ints, doubles);
    }

    private static void Add(long? asInt, double asDouble, List<long> ints, ref List<double>? doubles)
    {
        if (doubles is null && asInt is { } l) { ints.Add(l); return; }
        doubles ??= ints.Select(i => (double)i).ToList();
        doubles.Add(asDouble);
    }

    /// <summary>Generated values that fall into shard <paramref name="shard"/>'s slice of the int64 range (slices
    /// of equal width, in order), sorted. Each shard scans all indexes but keeps only its slice, so the
    /// shards' runs are already in global order and the merge just concatenates them.</summary>
    public static SortedRun GeneratedSlice(long count, long seed, int shard, int shards, CancellationToken cancellationToken)
    {
        var (low, high) = Slice(shard, shards);
        var seedBase = CounterRng.Base(seed);
        var kept = new List<long>((int)Math.Min(count / shards + 1024, int.MaxValue / 16));
        for (long i = 0; i < count; i++)
        {
            if ((i & 0xFFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var value = CounterRng.Int64At(seedBase, i);
            var key = (UInt128)(unchecked((ulong)value) ^ 0x8000_0000_0000_0000UL); // order-preserving map to unsigned
            if (key >= low && key < high) kept.Add(value);
        }
        var sorted = kept.ToArray();
        Array.Sort(sorted);
        return SortedRun.OfInts(sorted);
    }

    private static (UInt128 Low, UInt128 High) Slice(int shard, int shards) =>
        (((UInt128)ulong.MaxValue + 1) * (uint)shard / (uint)shards, ((UInt128)ulong.MaxValue + 1) * (uint)(shard + 1) / (uint)shards);
}
