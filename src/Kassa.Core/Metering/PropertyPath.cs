using System.Text.Json;

namespace Kassa.Core.Metering;

/// <summary>
/// A dotted path into an event's <c>properties</c> object: <c>tokens</c> or
/// <c>usage.input_tokens</c>. Each segment names a member of an object; arrays are not indexed.
/// Segments are plain identifiers so a path never needs quoting and reads the same in the API, the
/// group key and the database. A property whose name contains a dot therefore cannot be addressed.
/// </summary>
public static class PropertyPath
{
    /// <summary>The longest path, in characters; it bounds group keys and filter keys.</summary>
    public const int LengthMax = 200;

    /// <summary>The most segments; deeper nesting in an event is allowed but not addressable.</summary>
    public const int SegmentsMax = 8;

    /// <summary>The longest segment, in characters.</summary>
    public const int SegmentLengthMax = 64;

    /// <summary>
    /// Null when <paramref name="path"/> is a valid path: 1–8 segments separated by dots, each 1–64
    /// characters of <c>[A-Za-z0-9_-]</c>, at most 200 characters in all. Otherwise the complaint,
    /// phrased to follow a field name (<c>value_property must not be empty</c>).
    /// </summary>
    public static string? Validate(string? path)
    {
        if (string.IsNullOrEmpty(path)) return "must not be empty";
        if (path.Length > LengthMax) return $"must be at most {LengthMax} characters";
        var segments = 1;
        var segmentLength = 0;
        foreach (var c in path)
        {
            if (c == '.')
            {
                if (segmentLength == 0) return EmptySegment;
                if (++segments > SegmentsMax) return $"may have at most {SegmentsMax} dot-separated segments";
                segmentLength = 0;
                continue;
            }
            if (c is not (>= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' or '-'))
                return "segments may contain only letters, digits, _ and -";
            if (++segmentLength > SegmentLengthMax) return $"segments must be at most {SegmentLengthMax} characters";
        }
        return segmentLength == 0 ? EmptySegment : null;
    }

    /// <summary>
    /// Walks <paramref name="path"/> (assumed valid, see <see cref="Validate"/>) through nested
    /// objects of <paramref name="properties"/>. False when a segment is absent or the value on the
    /// way is not an object. A JSON <c>null</c> at the end is found (true, kind Null): callers decide
    /// whether null counts as missing. With duplicate member names the last one wins, as in
    /// System.Text.Json; normalised events have none (see <see cref="MeterEventInput"/>).
    /// </summary>
    public static bool TryResolve(JsonElement properties, string path, out JsonElement value)
    {
        ArgumentNullException.ThrowIfNull(path);
        value = properties;
        var rest = path.AsSpan();
        while (true)
        {
            if (value.ValueKind != JsonValueKind.Object)
            {
                value = default;
                return false;
            }
            var dot = rest.IndexOf('.');
            var segment = dot < 0 ? rest : rest[..dot];
            if (!value.TryGetProperty(segment, out value))
            {
                value = default;
                return false;
            }
            if (dot < 0) return true;
            rest = rest[(dot + 1)..];
        }
    }

    private const string EmptySegment = "must not have an empty segment (check for a leading, trailing or double dot)";
}
