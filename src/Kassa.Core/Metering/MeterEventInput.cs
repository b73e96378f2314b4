using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Kassa.Core.Validation;

namespace Kassa.Core.Metering;

/// <summary>
/// Checks and normalises one incoming meter event (spec §6), one element of a batch at a time, so a
/// bad event is rejected with its own code and message while the others in the batch go through.
/// <para>
/// Fields: <c>id</c>, <c>event_name</c>, <c>customer_id</c>, <c>timestamp</c>, <c>properties</c>,
/// or their CloudEvents names <c>type</c>, <c>subject</c>, <c>time</c>, <c>data</c> (giving a name
/// and its alias together is refused: which one would win is not obvious). The CloudEvents envelope
/// fields <c>specversion</c>, <c>source</c> and <c>datacontenttype</c> are accepted and ignored so a
/// CloudEvents producer can post unchanged; any other field is <c>unknown_field</c>.
/// </para>
/// <para>
/// JSON <c>null</c> for a required field counts as missing (<c>parameter_missing</c>); for
/// <c>timestamp</c> or <c>properties</c> it is a wrong type (<c>validation_failed</c>): leave the
/// field out to get the default. Problems are checked in a fixed order (shape, then missing fields,
/// then each field in the order above) and the first one is reported.
/// </para>
/// </summary>
public static class MeterEventInput
{
    /// <summary>The most events in one batch request; a larger batch is refused whole (413).</summary>
    public const int BatchMax = 1000;

    /// <summary>The longest event id.</summary>
    public const int IdLengthMax = 255;

    /// <summary>The most UTF-8 bytes of an event's properties as compact JSON (64 KiB).</summary>
    public const int PropertiesBytesMax = 64 * 1024;

    /// <summary>How deep properties may nest; the properties object itself is level 1.</summary>
    public const int PropertiesDepthMax = 16;

    /// <summary>
    /// How long an event id stays unique (a repeat within it is a duplicate, counted once) and how
    /// old an event may be. The two are the same on purpose: an event older than the window could
    /// not be recognised as a duplicate any more, so it is refused rather than counted twice.
    /// </summary>
    public static readonly TimeSpan DedupeWindow = TimeSpan.FromDays(35);

    /// <summary>How far ahead of the server's clock an event may be, to allow for clock skew.</summary>
    public static readonly TimeSpan FutureSkew = TimeSpan.FromMinutes(5);

    private static readonly JsonElement EmptyObject = ParseEmptyObject();

    private enum Slot { Id, EventName, CustomerId, Timestamp, Properties }

    private static readonly (Slot Slot, string Name)[] Required = [(Slot.Id, "id"), (Slot.EventName, "event_name"), (Slot.CustomerId, "customer_id")];

    /// <summary>
    /// Normalises <paramref name="e"/> into <paramref name="ev"/>, or returns false with a
    /// <see cref="MeterEventCodes"/> code and a message naming the field as the client spelled it.
    /// <paramref name="now"/> is the server's time (or the customer's test clock): the default
    /// timestamp, and the reference for the accepted range <c>[now − 35 days, now + 5 minutes]</c>
    /// (inclusive, checked before truncating to microseconds).
    /// </summary>
    public static bool TryNormalize(JsonElement e, DateTimeOffset now, [NotNullWhen(true)] out NormalizedEvent? ev, out (string Code, string Message) error)
    {
        ev = null;
        error = default;
        if (e.ValueKind != JsonValueKind.Object) return Fail(MeterEventCodes.ValidationFailed, "an event must be a JSON object", out error);

        var values = new JsonElement?[5];
        var names = new string?[5];
        foreach (var member in e.EnumerateObject())
        {
            // Matched on the name's UTF-8 in the document (an escaped name is unescaped first) and named by
            // the literal: no string per field per event. A name matching none of them is read only to be quoted back.
            ReadOnlySpan<byte> utf8 = JsonMarshal.GetRawUtf8PropertyName(member);
            if (Escaped(utf8))
            {
                if (!PropertyText.TryGetName(member, out var unescaped))
                    return Fail(MeterEventCodes.ValidationFailed, "field names must be valid Unicode text", out error);
                utf8 = Encoding.UTF8.GetBytes(unescaped);
            }
            if (!TryKnownField(utf8, out var slot, out var name))
                return Fail(MeterEventCodes.UnknownField, $"unknown field '{PropertyText.Shorten(member.Name)}'", out error);
            if (name is null) continue;
            if (names[(int)slot] is { } earlier)
            {
                return Fail(MeterEventCodes.ValidationFailed, earlier == name
                    ? $"field '{name}' appears more than once"
                    : $"give either '{earlier}' or '{name}', not both (one is an alias of the other)", out error);
            }
            names[(int)slot] = name;
            values[(int)slot] = member.Value;
        }

        foreach (var (slot, canonical) in Required)
        {
            if (values[(int)slot] is not { ValueKind: not JsonValueKind.Null })
                return Fail(MeterEventCodes.ParameterMissing, $"{names[(int)slot] ?? canonical} is required", out error);
        }

        if (!Text(values[(int)Slot.Id]!.Value, names[(int)Slot.Id]!, out var id, out error)) return false;
        if (id.Length is 0 or > IdLengthMax || !Rules.IsStorable(id))
            return Fail(MeterEventCodes.ValidationFailed, $"{names[(int)Slot.Id]} must be 1 to {IdLengthMax} characters of valid Unicode text without NUL characters", out error);

        var eventNameField = names[(int)Slot.EventName]!;
        if (!Text(values[(int)Slot.EventName]!.Value, eventNameField, out var eventName, out error)) return false;
        if (MeterRules.EventName(eventName) is { } eventNameError) return Fail(MeterEventCodes.ValidationFailed, $"{eventNameField} {eventNameError}", out error);

        var customerField = names[(int)Slot.CustomerId]!;
        if (!Text(values[(int)Slot.CustomerId]!.Value, customerField, out var customerId, out error)) return false;
        if (Rules.CustomerId(customerId) is { } customerError) return Fail(MeterEventCodes.ValidationFailed, $"{customerField} {customerError}", out error);

        if (!Timestamp(values[(int)Slot.Timestamp], names[(int)Slot.Timestamp], now, out var timestamp, out error)) return false;
        if (!Properties(values[(int)Slot.Properties], names[(int)Slot.Properties], out var properties, out var propertiesJson, out error)) return false;

        ev = new NormalizedEvent(id, eventName, customerId, timestamp, properties, propertiesJson);
        return true;
    }

    // The accepted field names and their CloudEvents aliases; a null name is an envelope field, accepted and ignored.
    private static readonly (byte[] Utf8, Slot Slot, string? Name)[] Fields =
    [
        ("id"u8.ToArray(), Slot.Id, "id"), ("event_name"u8.ToArray(), Slot.EventName, "event_name"), ("type"u8.ToArray(), Slot.EventName, "type"),
        ("customer_id"u8.ToArray(), Slot.CustomerId, "customer_id"), ("subject"u8.ToArray(), Slot.CustomerId, "subject"),
        ("timestamp"u8.ToArray(), Slot.Timestamp, "timestamp"), ("time"u8.ToArray(), Slot.Timestamp, "time"),
        ("properties"u8.ToArray(), Slot.Properties, "properties"), ("data"u8.ToArray(), Slot.Properties, "data"),
        ("specversion"u8.ToArray(), default, null), ("source"u8.ToArray(), default, null), ("datacontenttype"u8.ToArray(), default, null),
    ];

    private static bool TryKnownField(ReadOnlySpan<byte> utf8Name, out Slot slot, out string? name)
    {
        foreach (var (utf8, s, n) in Fields)
        {
            if (!utf8Name.SequenceEqual(utf8)) continue;
            (slot, name) = (s, n);
            return true;
        }
        (slot, name) = (default, null);
        return false;
    }

    private static bool Text(JsonElement value, string field, [NotNullWhen(true)] out string? text, out (string, string) error)
    {
        error = default;
        if (value.ValueKind != JsonValueKind.String)
        {
            text = null;
            return Fail(MeterEventCodes.ValidationFailed, $"{field} must be a string", out error);
        }
        if (PropertyText.TryGetString(value, out text)) return true;
        return Fail(MeterEventCodes.ValidationFailed, $"{field} must be valid Unicode text", out error);
    }

    private static bool Timestamp(JsonElement? value, string? field, DateTimeOffset now, out DateTimeOffset timestamp, out (string, string) error)
    {
        error = default;
        if (value is not { } v)
        {
            timestamp = TruncateToMicroseconds(now.ToUniversalTime());
            return true;
        }
        timestamp = default;
        if (v.ValueKind != JsonValueKind.String || !PropertyText.TryGetString(v, out var text) || !Rfc3339.TryParse(text, out var parsed))
            return Fail(MeterEventCodes.ValidationFailed, $"{field} must be an RFC 3339 timestamp with an offset, such as 2026-11-22T10:00:00Z", out error);
        if (parsed < now - DedupeWindow || parsed > now + FutureSkew)
            return Fail(MeterEventCodes.TimestampOutOfRange, $"{field} must be at most 35 days in the past and at most 5 minutes in the future", out error);
        timestamp = TruncateToMicroseconds(parsed);
        return true;
    }

    private static bool Properties(JsonElement? value, string? field, out JsonElement properties, out string propertiesJson, out (string, string) error)
    {
        error = default;
        properties = EmptyObject;
        propertiesJson = "{}";
        if (value is not { } v) return true;
        if (v.ValueKind != JsonValueKind.Object) return Fail(MeterEventCodes.ValidationFailed, $"{field} must be a JSON object", out error);
        if (Check(v, 1) is { } problem) return Fail(MeterEventCodes.ValidationFailed, $"{field} {problem}", out error);

        if (CompactJson.Write(v, static (writer, v) => v.WriteTo(writer), PropertiesBytesMax) is not { } compact)
            return Fail(MeterEventCodes.ValidationFailed, $"{field} must be at most {PropertiesBytesMax} bytes as compact JSON", out error);
        // The request's own element, not one parsed back from the compact text: the same names and values
        // (the compact form only drops whitespace and may unescape text; numbers keep their digits), without a
        // document per event. The caller keeps the request's document open while it uses the event.
        properties = v;
        propertiesJson = compact;
        return true;
    }

    // Every engine must be able to store the properties as they are: no NUL characters or lone
    // surrogates in names or strings (PostgreSQL's jsonb refuses both), no duplicate names (which one
    // a reader sees would depend on the reader), and a bounded depth.
    // Text without a backslash in the document is storable as it stands: the parser has checked its
    // UTF-8 (so no lone surrogate) and refuses raw control characters (so no NUL); only an escape can
    // bring either in. Such text is checked on its bytes, without a string per name and value.
    private const string Unstorable = "must contain only valid Unicode text without NUL characters";

    // Names compared pairwise on their bytes up to this many members; a larger object uses a set.
    private const int PairwiseMembersMax = 16;

    private static string? Check(JsonElement value, int depth)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                if (depth > PropertiesDepthMax) return $"may nest at most {PropertiesDepthMax} levels deep";
                var members = 0;
                foreach (var member in value.EnumerateObject())
                {
                    if (++members > PairwiseMembersMax || Escaped(JsonMarshal.GetRawUtf8PropertyName(member))) return CheckObjectByNames(value, depth);
                }
                var index = 0;
                foreach (var member in value.EnumerateObject())
                {
                    var name = JsonMarshal.GetRawUtf8PropertyName(member);
                    var earlier = 0;
                    foreach (var other in value.EnumerateObject())
                    {
                        if (earlier++ == index) break;
                        if (JsonMarshal.GetRawUtf8PropertyName(other).SequenceEqual(name)) return Repeated(member.Name);
                    }
                    index++;
                    if (Check(member.Value, depth + 1) is { } problem) return problem;
                }
                return null;
            case JsonValueKind.Array:
                if (depth > PropertiesDepthMax) return $"may nest at most {PropertiesDepthMax} levels deep";
                foreach (var item in value.EnumerateArray())
                {
                    if (Check(item, depth + 1) is { } problem) return problem;
                }
                return null;
            case JsonValueKind.String:
                if (!Escaped(JsonMarshal.GetRawUtf8Value(value))) return null;
                return PropertyText.TryGetString(value, out var text) && Rules.IsStorable(text) ? null : Unstorable;
            default:
                return null;
        }
    }

    /// <summary>An object with an escaped name or many members: its names read as strings, duplicates found with a set.</summary>
    private static string? CheckObjectByNames(JsonElement value, int depth)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in value.EnumerateObject())
        {
            if (!PropertyText.TryGetName(member, out var name) || !Rules.IsStorable(name)) return Unstorable;
            if (!seen.Add(name)) return Repeated(name);
            if (Check(member.Value, depth + 1) is { } problem) return problem;
        }
        return null;
    }

    private static string Repeated(string name) => $"has the key '{PropertyText.Shorten(name)}' more than once";

    private static bool Escaped(ReadOnlySpan<byte> raw) => raw.Contains((byte)'\\');

    private static JsonElement ParseEmptyObject()
    {
        using var document = JsonDocument.Parse("{}");
        return document.RootElement.Clone();
    }

    private static DateTimeOffset TruncateToMicroseconds(DateTimeOffset t) =>
        new(t.UtcTicks - t.UtcTicks % 10, TimeSpan.Zero);

    private static bool Fail(string code, string message, out (string, string) error)
    {
        error = (code, message);
        return false;
    }
}
