using System.Security.Cryptography;

namespace JobApi.Engine;

/// <summary>Job ids: 26 characters of Crockford base32, a 48-bit millisecond timestamp then 80 random bits,
/// so ids sort by creation time. They never contain hash-tag braces.</summary>
public static class JobId
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New(DateTimeOffset? now = null)
    {
        Span<byte> bytes = stackalloc byte[16];
        var ms = (ulong)(now ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds();
        for (var i = 0; i < 6; i++) bytes[i] = (byte)(ms >> (40 - 8 * i));
        RandomNumberGenerator.Fill(bytes[6..]);
        var value = new UInt128(
            (ulong)bytes[0] << 56 | (ulong)bytes[1] << 48 | (ulong)bytes[2] << 40 | (ulong)bytes[3] << 32 | (ulong)bytes[4] << 24 | (ulong)bytes[5] << 16 | (ulong)bytes[6] << 8 | bytes[7],
            BitConverter.ToUInt64(bytes[8..]));
        Span<char> chars = stackalloc char[26];
        for (var i = 25; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }
        return new string(chars);
    }

    /// <summary>True for strings that can be job ids; anything else is an unknown job without a Redis call.</summary>
    public static bool IsWellFormed(string? id) =>
        id is { Length: 26 } && id.AsSpan().IndexOfAnyExcept(Alphabet) < 0;

    /// <summary>The creation time (Unix ms) a well-formed id carries in its first 10 characters.</summary>
    public static long TimestampMs(string id)
    {
        long ms = 0;
        for (var i = 0; i < 10; i++) ms = ms << 5 | (long)Alphabet.IndexOf(id[i]);
        return ms;
    }
}
