using System.Globalization;
using System.Text;
using System.Text.Json;

namespace JobApi.JobKinds;

/// <summary>The mergeable summary of a part of the values: count, mean and M2 (sum of squared deviations),
/// combined with the parallel formula of Chan, Golub and LeVeque; the exact int64 sum; min and max.</summary>
internal sealed record Moments(long Count, double Mean, double M2, Int128 IntSum, double DoubleSum, bool Ints, string? Min, string? Max)
{
    public static readonly Moments Empty = new(0, 0, 0, 0, 0, true, null, null);

    /// <summary>Two passes over one shard's run: mean first, then the squared deviations from it.</summary>
    public static Moments Of(SortedRun run)
    {
        var n = run.Length;
        if (n == 0) return Empty with { Ints = run.Doubles is null };
        Int128 intSum = 0;
        double doubleSum = 0;
        if (run.Ints is not null) foreach (var v in run.Ints) intSum += v;
        else foreach (var v in run.Doubles!) doubleSum += v;
        var mean = run.Ints is not null ? (double)intSum / n : doubleSum / n;
        double m2 = 0;
        for (var i = 0; i < n; i++) m2 += (run.AsDouble(i) - mean) * (run.AsDouble(i) - mean);
        return new Moments(n, mean, m2, intSum, doubleSum, run.Ints is not null, run.ItemJson(0), run.ItemJson(n - 1));
    }

    public static Moments Combine(Moments a, Moments b)
    {
        if (a.Count == 0) return b with { Ints = a.Ints && b.Ints };
        if (b.Count == 0) return a with { Ints = a.Ints && b.Ints };
        long n = a.Count + b.Count;
        var delta = b.Mean - a.Mean;
        var mean = a.Mean + delta * b.Count / n;
        var m2 = a.M2 + b.M2 + delta * delta * ((double)a.Count * b.Count / n);
        return new Moments(n, mean, m2, a.IntSum + b.IntSum, a.DoubleSum + b.DoubleSum, a.Ints && b.Ints,
            Less(b.Min!, a.Min!) ? b.Min : a.Min, Less(a.Max!, b.Max!) ? b.Max : a.Max);
    }

    private static bool Less(string x, string y) =>
        long.TryParse(x, CultureInfo.InvariantCulture, out var lx) && long.TryParse(y, CultureInfo.InvariantCulture, out var ly)
            ? lx < ly
            : double.Parse(x, CultureInfo.InvariantCulture) < double.Parse(y, CultureInfo.InvariantCulture);

    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteNumber("count", Count);
        writer.WriteNumber("mean", Mean);
        writer.WriteNumber("m2", M2);
        writer.WriteString("intSum", IntSum.ToString(CultureInfo.InvariantCulture));
        writer.WriteNumber("doubleSum", DoubleSum);
        writer.WriteBoolean("ints", Ints);
        if (Min is null) writer.WriteNull("min"); else writer.WriteString("min", Min);
        if (Max is null) writer.WriteNull("max"); else writer.WriteString("max", Max);
    }

    /// <summary>Reads the fields <see cref="WriteTo"/> wrote, stopping before the (large) values.</summary>
    public static Moments Read(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        reader.Read();
        var m = Empty;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            m = name switch
            {
                "count" => m with { Count = reader.GetInt64() },
                "mean" => m with { Mean = reader.GetDouble() },
                "m2" => m with { M2 = reader.GetDouble() },
                "intSum" => m with { IntSum = Int128.Parse(reader.GetString()!, CultureInfo.InvariantCulture) },
                "doubleSum" => m with { DoubleSum = reader.GetDouble() },
                "ints" => m with { Ints = reader.GetBoolean() },
                "min" => m with { Min = reader.GetString() },
                "max" => m with { Max = reader.GetString() },
                _ => m,
            };
            if (name == "max") break;
        }
        return m;
    }

    /// <summary>The job result; <paramref name="quantiles"/> are p50, p90, p99 as JSON values.</summary>
    public string ToResultJson(string?[] quantiles)
    {
        var variance = Count == 0 ? (double?)null : M2 / Count;
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteNumber("count", Count);
            writer.WritePropertyName("sum");
            if (Ints) writer.WriteRawValue(IntSum.ToString(CultureInfo.InvariantCulture)); // exact, also beyond 64 bits
            else writer.WriteNumberValue((double)IntSum + DoubleSum);
            Raw(writer, "min", Min);
            Raw(writer, "max", Max);
            Number(writer, "mean", Count == 0 ? null : Mean);
            Number(writer, "variance", variance);
            Number(writer, "stddev", variance is { } v ? Math.Sqrt(v) : null);
            Raw(writer, "p50", quantiles[0]);
            Raw(writer, "p90", quantiles[1]);
            Raw(writer, "p99", quantiles[2]);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    private static void Raw(Utf8JsonWriter writer, string name, string? json)
    {
        writer.WritePropertyName(name);
        if (json is null) writer.WriteNullValue(); else writer.WriteRawValue(json);
    }

    private static void Number(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v) writer.WriteNumber(name, v); else writer.WriteNull(name);
    }
}
