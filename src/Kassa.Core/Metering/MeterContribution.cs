using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Kassa.Core.Metering;

/// <summary>
/// What one event adds to one meter: its value in micro-units, its group key and, for
/// <c>unique_count</c>, the distinct value. One rule for ingestion and for rebuilding rollups, so a
/// rebuild recomputes exactly what ingestion counted.
/// </summary>
public readonly record struct MeterContribution(long Value, string GroupKey, string? Distinct)
{
    /// <summary>
    /// Group values and distinct values are parts of stored keys; past this many characters an event is
    /// refused (PostgreSQL caps an index entry near 2.7 KB, and no real dimension is this long).
    /// </summary>
    public const int KeyTextLengthMax = 1_000;

    /// <summary>
    /// True with <paramref name="contribution"/> null when the event does not match the meter; true
    /// with a contribution when it does; false with an error when it matches but cannot be counted
    /// (the value property is missing or unreadable, or a key text is too long).
    /// </summary>
    public static bool TryFrom(MeterDefinition meter, string eventName, JsonElement properties, out MeterContribution? contribution,
        [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(meter);
        contribution = null;
        error = null;
        if (!MeterMatch.Matches(meter, eventName, properties)) return true;
        string? distinct = null;
        long value;
        if (meter.Aggregation == Aggregation.UniqueCount)
        {
            // Each event counts one unit; the distinct value is what unique_count keeps.
            if (!MeterValue.TryReadDistinct(properties, meter.ValueProperty!, out distinct, out error)) return false;
            value = Balances.Micro.PerUnit;
        }
        else if (!MeterValue.TryReadEventValue(meter, properties, out value, out error))
        {
            return false;
        }
        var group = MeterMatch.GroupKey(meter, properties);
        if (group.Length > KeyTextLengthMax || distinct?.Length > KeyTextLengthMax)
        {
            error = $"group_by and unique_count values may be at most {KeyTextLengthMax} characters";
            return false;
        }
        contribution = new MeterContribution(value, group, distinct);
        return true;
    }
}
