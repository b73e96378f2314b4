using System.Buffers.Text;
using System.Text;

namespace Kassa.Core.Paging;

/// <summary>
/// A keyset position in a list ordered newest first: the creation time (microseconds since the
/// Unix epoch) and the id of the last object on the page. Encoded as opaque base64url so clients
/// do not build their own; ordering by (created, id) stays correct for customer-chosen ids that
/// do not sort by time.
/// </summary>
public readonly record struct Cursor(long CreatedMicros, string Id)
{
    private const int EncodedLengthMax = 400;

    public string Encode() => Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{CreatedMicros}|{Id}"));

    public static bool TryDecode(string? text, out Cursor cursor)
    {
        cursor = default;
        if (string.IsNullOrEmpty(text) || text.Length > EncodedLengthMax) return false;
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return false;
        }
        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (ArgumentException)
        {
            return false;
        }
        var bar = decoded.IndexOf('|');
        if (bar <= 0 || bar == decoded.Length - 1) return false;
        if (!long.TryParse(decoded.AsSpan(0, bar), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var micros)) return false;
        var id = decoded[(bar + 1)..];
        if (!Validation.Rules.IsStorable(id) || id.Any(char.IsControl)) return false;
        cursor = new Cursor(micros, id);
        return true;
    }
}

/// <summary>One page of a list, with whether more follow and where to continue.</summary>
public sealed record Page<T>(IReadOnlyList<T> Data, bool HasMore, string? NextCursor);
