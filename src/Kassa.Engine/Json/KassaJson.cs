using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kassa.Core.Metering;

namespace Kassa.Engine.Json;

/// <summary>
/// The one JSON configuration of the API: snake_case names, unknown and duplicate properties
/// rejected (a typo must never pass silently), a bounded depth, nulls written out so every
/// resource always has the same fields.
/// </summary>
public static class KassaJson
{
    public const int MaxDepth = 32;

    public static JsonSerializerOptions Options { get; } = Create();

    public static void Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        o.DictionaryKeyPolicy = null;
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.AllowDuplicateProperties = false;
        o.MaxDepth = MaxDepth;
        o.NumberHandling = JsonNumberHandling.Strict;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        o.RespectNullableAnnotations = false;
        o.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        o.Converters.Add(new OptionalConverterFactory());
        o.Converters.Add(new UtcTimestampConverter());
        o.Converters.Add(new NullableUtcTimestampConverter());
    }

    private static JsonSerializerOptions Create()
    {
        var o = new JsonSerializerOptions();
        Configure(o);
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}

/// <summary>
/// Timestamps are RFC 3339 with <c>Z</c> or an offset (<c>2026-11-21T10:00:00Z</c>,
/// <c>2026-11-21T12:00:00+02:00</c>) and are written back in UTC with second precision. One strict rule
/// for every body, the same parser as meter events and query filters (<see cref="Rfc3339"/>): a time
/// without an offset or a bare date is refused, because reading it in the server's time zone would
/// store a different instant on every server.
/// </summary>
public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    /// <summary>The message of the 400; the body reader names the field (<c>param</c>) from the JSON path.</summary>
    public const string Rule = "must be an RFC 3339 timestamp with Z or an offset, such as 2026-11-21T10:00:00Z";

    // The longest RFC 3339 text is 35 characters; a JSON string may escape each as \uXXXX (6 bytes).
    private const int EncodedLengthMax = 35 * 6;

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (reader.TokenType != JsonTokenType.String || length > EncodedLengthMax || !Rfc3339.TryParse(reader.GetString(), out var value))
            throw new JsonException(Rule);
        return value;
    }

    /// <summary>
    /// Writes <c>yyyy-MM-ddTHH:mm:ssZ</c> (UTC, whole seconds) by hand: through a custom format string the text was
    /// parsed again and a string allocated on every timestamp of every resource (~5 % of a grant's writer time).
    /// </summary>
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        Span<byte> text = stackalloc byte[TextLength];
        Format(value, text);
        writer.WriteStringValue(text);
    }

    public const int TextLength = 20;

    /// <summary>The UTC time as <c>yyyy-MM-ddTHH:mm:ssZ</c> into exactly <see cref="TextLength"/> bytes.</summary>
    public static void Format(DateTimeOffset value, Span<byte> text)
    {
        var t = value.UtcDateTime;
        Digits(text[..4], t.Year);
        text[4] = (byte)'-';
        Digits(text.Slice(5, 2), t.Month);
        text[7] = (byte)'-';
        Digits(text.Slice(8, 2), t.Day);
        text[10] = (byte)'T';
        Digits(text.Slice(11, 2), t.Hour);
        text[13] = (byte)':';
        Digits(text.Slice(14, 2), t.Minute);
        text[16] = (byte)':';
        Digits(text.Slice(17, 2), t.Second);
        text[19] = (byte)'Z';
    }

    /// <summary>The number's decimal digits, zero-padded to the span's width (the number fits it: years are 1–9999).</summary>
    private static void Digits(Span<byte> into, int number)
    {
        for (var i = into.Length - 1; i >= 0; i--)
        {
            into[i] = (byte)('0' + number % 10);
            number /= 10;
        }
    }
}

public sealed class NullableUtcTimestampConverter : JsonConverter<DateTimeOffset?>
{
    private static readonly UtcTimestampConverter Inner = new();
    public override bool HandleNull => true;

    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : Inner.Read(ref reader, typeof(DateTimeOffset), options);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is { } v) Inner.Write(writer, v, options);
        else writer.WriteNullValue();
    }
}
