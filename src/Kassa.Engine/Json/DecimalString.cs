using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kassa.Engine.Json;

/// <summary>
/// An exact decimal carried as a JSON string (<c>"0.02"</c>), as the spec requires for sub-minor-unit
/// prices: a JSON number could be rounded through binary floating point by clients. Plain decimal
/// notation only (no exponent, no thousands separators), at most 28 significant digits.
/// </summary>
public sealed class DecimalStringConverter : JsonConverter<decimal?>
{
    public const int TextLengthMax = 40;
    public override bool HandleNull => true;

    public override decimal? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.String) throw new JsonException("must be a decimal string such as \"0.02\"");
        var text = reader.GetString()!;
        if (text.Length is 0 or > TextLengthMax ||
            !decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            throw new JsonException("must be a decimal string such as \"0.02\"");
        return value;
    }

    public override void Write(Utf8JsonWriter writer, decimal? value, JsonSerializerOptions options)
    {
        if (value is { } v) writer.WriteStringValue(v.ToString("0.############################", CultureInfo.InvariantCulture));
        else writer.WriteNullValue();
    }
}

/// <summary>A feature allowance: a number, or <c>"unlimited"</c>.</summary>
[JsonConverter(typeof(IncludedConverter))]
public readonly record struct Included(decimal Amount, bool Unlimited)
{
    public static Included Of(decimal amount) => new(amount, false);
    public static Included Infinite => new(0, true);
}

public sealed class IncludedConverter : JsonConverter<Included>
{
    public override Included Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("unlimited")) return Included.Infinite;
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDecimal(out var d)) return Included.Of(d);
        throw new JsonException("must be a number or \"unlimited\"");
    }

    public override void Write(Utf8JsonWriter writer, Included value, JsonSerializerOptions options)
    {
        if (value.Unlimited) writer.WriteStringValue("unlimited");
        else writer.WriteNumberValue(value.Amount);
    }
}
