using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Kassa.Core.Balances;

namespace Kassa.Core.Metering;

/// <summary>
/// Reads the value a meter aggregates from one event's properties. Quantities follow the API rule
/// (spec §1): at most 6 fractional digits, exact, so they are read as micro-units (see
/// <see cref="Micro"/>) and never pass through binary floating point.
/// </summary>
public static class MeterValue
{
    /// <summary>
    /// Reads the number at <paramref name="path"/> as micro-units. Accepted: a JSON number (an
    /// exponent is fine, <c>1.5e3</c>) or a string holding a plain decimal in invariant form
    /// (optional leading <c>-</c>, digits, optional <c>.</c> and digits; no exponent, spaces or
    /// <c>+</c>), because some clients send big quantities as strings to keep them exact. The value
    /// must have at most 6 fractional digits once trailing zeros are dropped and lie within
    /// ±9 × 10¹² units. Negative values are accepted: they are corrections. On failure,
    /// <paramref name="error"/> is a sentence naming the property, e.g. <c>property 'tokens' is missing</c>.
    /// </summary>
    public static bool TryRead(JsonElement properties, string path, out long micros, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(path);
        micros = 0;
        error = null;
        if (!PropertyPath.TryResolve(properties, path, out var value))
        {
            error = $"property '{path}' is missing";
            return false;
        }
        DecimalText number;
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                // Fast path for the common whole number; the range check keeps the multiplication exact.
                if (value.TryGetInt64(out var whole) && whole is >= -Micro.MaxAbs / Micro.PerUnit and <= Micro.MaxAbs / Micro.PerUnit)
                {
                    micros = whole * Micro.PerUnit;
                    return true;
                }
                DecimalText.TryParse(value.GetRawText(), allowExponent: true, out number);
                break;
            case JsonValueKind.String:
                if (!PropertyText.TryGetString(value, out var text) || !DecimalText.TryParse(text, allowExponent: false, out number))
                {
                    error = $"property '{path}' is a string that is not a decimal number (digits, an optional leading '-' and '.' fraction, no exponent)";
                    return false;
                }
                break;
            default:
                error = $"property '{path}' must be a number or a numeric string, not {KindName(value.ValueKind)}";
                return false;
        }
        if (number.TryToMicros(out micros, out var problem)) return true;
        error = problem == MicroProblem.TooManyFractionDigits
            ? $"property '{path}' must have at most 6 fractional digits"
            : $"property '{path}' must be between -9,000,000,000,000 and 9,000,000,000,000";
        return false;
    }

    /// <summary>
    /// Reads the value a <c>unique_count</c> meter counts: the property's text as in group keys
    /// (strings as they are, numbers canonical so 1 and 1.0 are one value, booleans
    /// <c>true</c>/<c>false</c>). A string and a number with the same text therefore count once,
    /// which is what a user counting distinct ids expects. Null, objects and arrays are refused.
    /// </summary>
    public static bool TryReadDistinct(JsonElement properties, string path, [NotNullWhen(true)] out string? value, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(path);
        error = null;
        value = null;
        if (!PropertyPath.TryResolve(properties, path, out var element))
        {
            error = $"property '{path}' is missing";
            return false;
        }
        value = PropertyText.Render(element);
        if (value is not null) return true;
        error = $"property '{path}' must be a string, number or boolean, not {KindName(element.ValueKind)}";
        return false;
    }

    /// <summary>
    /// The numeric value one event contributes to a meter, in micro-units: one unit for
    /// <c>count</c> (each event counts once; this is also what a <c>feature_id</c> meter tracks) and
    /// for <c>unique_count</c> (after checking that the counted property is readable with
    /// <see cref="TryReadDistinct"/>; the distinct values themselves are stored apart), otherwise the
    /// value property read with <see cref="TryRead"/>.
    /// </summary>
    public static bool TryReadEventValue(MeterDefinition meter, JsonElement properties, out long micros, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(meter);
        micros = 0;
        error = null;
        switch (meter.Aggregation)
        {
            case Aggregation.Count:
                micros = Micro.PerUnit;
                return true;
            case Aggregation.UniqueCount:
                if (!TryReadDistinct(properties, ValuePath(meter), out _, out error)) return false;
                micros = Micro.PerUnit;
                return true;
            default:
                return TryRead(properties, ValuePath(meter), out micros, out error);
        }
    }

    private static string ValuePath(MeterDefinition meter) =>
        meter.ValueProperty ?? throw new ArgumentException($"meter '{meter.Id}' has no value_property", nameof(meter));

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        _ => "undefined",
    };
}
