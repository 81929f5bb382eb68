using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace JobApi.Tests.Fuzz;

/// <summary>Generators of hostile JSON text: known field names mixed with random ones, numbers at and beyond
/// every range (huge, negative, fractional, exponent forms), odd strings (lone surrogates, control characters),
/// nesting, and raw byte mutations of valid bodies (flips, insertions, truncations, invalid UTF-8).</summary>
public static class HostileJson
{
    /// <summary>Iterations for the fuzz tests: bounded by default, far more with JOBAPI_FUZZ_LONG=1.</summary>
    public static long Iterations(long normal) => Environment.GetEnvironmentVariable("JOBAPI_FUZZ_LONG") == "1" ? normal * 100 : normal;

    public static readonly Gen<string> Number = Gen.Frequency(
        (3, Gen.Int[-5, 200].Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (2, Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture))),
        (1, Gen.Int.Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (1, Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "1e400")),
        (1, Pick("99999999999999999999999999", "-99999999999999999999999999", "1e308", "-1e308", "1e-400", "0.5", "-0", "1E3",
            "1000000000000", "1000000000001", "2147483648", "-2147483649", "9223372036854775808", "18446744073709551616", "60001", "100001", "1000000")));

    public static readonly Gen<string> Text = Gen.Frequency(
        (3, Gen.String[0, 40]),
        (1, Gen.Char.Array[0, 20].Select(c => new string(c))),
        (1, Pick("", "\uD800", "\uDC00x", "\u0000", "\u202E", "a b c", "café", "{kind}", "$type", "__proto__", new string('x', 5000))))
        .Select(s => JsonSerializer.Serialize(s));

    private static Gen<string> Scalar => Gen.Frequency((4, Number), (3, Text), (1, Pick("true", "false", "null")));

    /// <summary>A JSON value whose object members are mostly from <paramref name="names"/>.</summary>
    public static Gen<string> Value(string[] names, int depth) => depth <= 0
        ? Scalar
        : Gen.Frequency(
            (5, Scalar),
            (1, Value(names, depth - 1).Array[0, 5].Select(items => "[" + string.Join(",", items) + "]")),
            (2, Object(names, depth - 1)));

    public static Gen<string> Object(string[] names, int depth) =>
        Gen.Select(Gen.Frequency((4, Pick(names.Length == 0 ? ["x"] : names).Select(n => JsonSerializer.Serialize(n))), (1, Text)), Value(names, depth))
            .Select((k, v) => k + ":" + v).Array[0, 5].Select(members => "{" + string.Join(",", members) + "}");

    /// <summary>Mutations of valid bytes: a flipped byte, inserted bytes (often invalid UTF-8), a truncation.</summary>
    public static Gen<byte[]> Mutated(byte[] valid) => Gen.Frequency(
        (2, Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte).Select((i, b) => { var c = (byte[])valid.Clone(); c[i] = b; return c; })),
        (2, Gen.Select(Gen.Int[0, valid.Length], Gen.Byte.Array[1, 4]).Select((i, bytes) => valid[..i].Concat(bytes).Concat(valid[i..]).ToArray())),
        (1, Gen.Int[0, valid.Length].Select(i => valid[..i])),
        (1, Gen.Select(Gen.Int[0, valid.Length], Pick<byte[]>([0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF]))
            .Select((i, bad) => valid[..i].Concat(bad).Concat(valid[i..]).ToArray())));

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>One of the given values.</summary>
    public static Gen<T> Pick<T>(params T[] items) => Gen.Int[0, items.Length - 1].Select(i => items[i]);
}
