using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace JobApi.JobKinds;

/// <summary>One shard's values in ascending order: int64s, doubles, or text lines (in UTF-8 byte order).
/// The shard result format shared by <c>sort</c> and <c>stats</c>: <c>"type"</c> and <c>"values"</c>.</summary>
internal sealed class SortedRun
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public long[]? Ints { get; private set; }
    public double[]? Doubles { get; private set; }
    public string[]? Lines { get; private init; }
    public int Length => Ints?.Length ?? Doubles?.Length ?? Lines!.Length;
    private string Type => Ints is not null ? "ints" : Doubles is not null ? "doubles" : "lines";

    /// <summary>Sorts the values: all int64 when every value is an integer that fits, doubles otherwise.</summary>
    public static SortedRun OfNumbers(List<long> ints, List<double>? doubles)
    {
        if (doubles is null)
        {
            var a = ints.ToArray();
            Array.Sort(a);
            return new SortedRun { Ints = a };
        }
        var d = doubles.ToArray();
        Array.Sort(d);
        return new SortedRun { Doubles = d };
    }

    public static SortedRun OfInts(long[] sorted) => new() { Ints = sorted };

    /// <summary>Sorts lines by UTF-8 bytes, stably (equal lines are identical, so stability cannot be seen).</summary>
    public static SortedRun OfLines(string[] lines)
    {
        Array.Sort(lines, Utf8Order.Comparer);
        return new SortedRun { Lines = lines };
    }

    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteString("type", Type);
        writer.WriteStartArray("values");
        if (Ints is not null) foreach (var v in Ints) writer.WriteNumberValue(v);
        else if (Doubles is not null) foreach (var v in Doubles) writer.WriteNumberValue(v);
        else foreach (var v in Lines!) writer.WriteStringValue(v);
        writer.WriteEndArray();
    }

    /// <summary>Reads <c>"type"</c> and <c>"values"</c> from a shard result object (other fields are skipped).</summary>
    public static SortedRun Read(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        string? type = null;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            if (name == "type") type = reader.GetString();
            else if (name == "values")
            {
                var ints = new List<long>();
                var doubles = new List<double>();
                var lines = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (type == "ints") ints.Add(reader.GetInt64());
                    else if (type == "doubles") doubles.Add(reader.GetDouble());
                    else lines.Add(reader.GetString()!);
                }
                return type switch
                {
                    "ints" => new SortedRun { Ints = [.. ints] },
                    "doubles" => new SortedRun { Doubles = [.. doubles] },
                    _ => new SortedRun { Lines = [.. lines] },
                };
            }
            else reader.Skip();
        }
        throw new InvalidOperationException("shard result has no values");
    }

    /// <summary>Item i as a JSON value.</summary>
    public string ItemJson(int i) =>
        Ints is not null ? Ints[i].ToString(CultureInfo.InvariantCulture)
        : Doubles is not null ? Doubles[i].ToString("R", CultureInfo.InvariantCulture)
        : JsonSerializer.Serialize(Lines![i], Relaxed);

    public double AsDouble(int i) => Ints is not null ? Ints[i] : Doubles![i];

    /// <summary>When runs mix int64s and doubles, every run compares as doubles.</summary>
    public static void Unify(IReadOnlyList<SortedRun> runs)
    {
        if (!runs.Any(r => r.Doubles is not null) || !runs.Any(r => r.Ints is not null)) return;
        foreach (var run in runs.Where(r => r.Ints is not null))
        {
            run.Doubles = Array.ConvertAll(run.Ints!, v => (double)v);
            run.Ints = null;
        }
    }

    /// <summary>A k-way merge of sorted runs, ties broken by run index so that the merge is stable.</summary>
    public static IEnumerable<(SortedRun Run, int Index)> Merge(IReadOnlyList<SortedRun> runs, bool descending)
    {
        Unify(runs);
        var sign = descending ? -1 : 1;
        var queue = new PriorityQueue<(int Run, int Index), (int Run, int Index)>(Comparer<(int Run, int Index)>.Create((x, y) =>
        {
            var c = sign * Compare(runs[x.Run], x.Index, runs[y.Run], y.Index);
            return c != 0 ? c : x.Run.CompareTo(y.Run);
        }));
        for (var r = 0; r < runs.Count; r++)
            if (runs[r].Length > 0) queue.Enqueue(Start(runs[r], r, descending), Start(runs[r], r, descending));
        while (queue.TryDequeue(out var at, out _))
        {
            yield return (runs[at.Run], at.Index);
            var next = at.Index + (descending ? -1 : 1);
            if (next >= 0 && next < runs[at.Run].Length) queue.Enqueue((at.Run, next), (at.Run, next));
        }
    }

    private static (int, int) Start(SortedRun run, int r, bool descending) => (r, descending ? run.Length - 1 : 0);

    private static int Compare(SortedRun a, int i, SortedRun b, int j) =>
        a.Ints is not null ? a.Ints[i].CompareTo(b.Ints![j])
        : a.Doubles is not null ? a.Doubles[i].CompareTo(b.Doubles![j])
        : Utf8Order.Compare(a.Lines![i], b.Lines![j]);
}

/// <summary>Orders strings by Unicode code point, which is the order of their UTF-8 bytes (what
/// <c>LC_ALL=C sort</c> does); plain ordinal order of UTF-16 differs for characters above U+FFFF.</summary>
internal static class Utf8Order
{
    public static readonly IComparer<string> Comparer = Comparer<string>.Create(Compare);

    public static int Compare(string? a, string? b)
    {
        if (a is null || b is null) return a is null ? (b is null ? 0 : -1) : 1;
        var common = a.AsSpan().CommonPrefixLength(b);
        if (common == a.Length || common == b.Length) return a.Length.CompareTo(b.Length);
        int x = a[common], y = b[common];
        if (x >= 0xD800 && y >= 0xD800)
        {
            // Surrogates (U+D800..DFFF) stand for code points above U+FFFF: move them above U+E000..U+FFFF.
            x = x >= 0xE000 ? x - 0x800 : x + 0x2000;
            y = y >= 0xE000 ? y - 0x800 : y + 0x2000;
        }
        return x.CompareTo(y);
    }
}
