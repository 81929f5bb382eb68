using Microsoft.Extensions.Primitives;

namespace JobApi.Api;

/// <summary>The <c>wait</c> preference of a request's <c>Prefer</c> headers (RFC 7240 §4.3): how many seconds the client
/// is willing to wait for the final answer. Preferences are comma-separated, each may carry <c>;</c> parameters, names
/// are case-insensitive; a preference this service does not know, or a <c>wait</c> whose value is not a delta-seconds
/// number, is ignored, as the RFC asks.</summary>
public static class PreferWait
{
    /// <summary>The seconds asked for, at most <paramref name="max"/>; null when the headers ask for no wait (or for 0).</summary>
    public static int? Parse(StringValues prefer, int max)
    {
        int? wait = null;
        foreach (var header in prefer)
        {
            if (header is null) continue;
            foreach (var preference in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var token = preference.Split(';', 2)[0];
                var eq = token.IndexOf('=');
                if (eq < 0 || !token[..eq].Trim().Equals("wait", StringComparison.OrdinalIgnoreCase)) continue;
                var value = token[(eq + 1)..].Trim().Trim('"');
                // delta-seconds: digits only; a huge number is a long wait, capped below.
                if (value.Length == 0 || !value.All(char.IsAsciiDigit)) continue;
                wait ??= value.Length > 9 ? int.MaxValue : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return wait is > 0 && max > 0 ? Math.Min(wait.Value, max) : null;
    }
}
