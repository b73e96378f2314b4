using System.Text.Json;

namespace Kassa.Core.Metering;

/// <summary>
/// Which events a meter takes and which group each one falls in. Both are decided once, when the
/// event is ingested, and the group key is stored with the hourly rollup, so they must be
/// deterministic: the same event and meter always give the same answer and the same key.
/// </summary>
public static class MeterMatch
{
    // The API's own escaping (KassaJson): non-ASCII stays readable, quotes and control characters
    // are escaped. Fixed here because the key is compared as stored text.

    /// <summary>
    /// True when <paramref name="eventName"/> equals the meter's event name (ordinal) and every
    /// filter entry equals the property at its path. Types must match: a string filter matches only
    /// an ordinal-equal string, a boolean only the same boolean, a number only a number of equal
    /// value (<c>1</c> equals <c>1.0</c> and <c>1e0</c>, compared exactly, not via binary floating
    /// point). A numeric string never equals a number filter, nor a missing property anything.
    /// </summary>
    public static bool Matches(MeterDefinition meter, string eventName, JsonElement properties)
    {
        ArgumentNullException.ThrowIfNull(meter);
        if (!string.Equals(meter.EventName, eventName, StringComparison.Ordinal)) return false;
        foreach (var (path, expected) in meter.Filter)
        {
            if (!PropertyPath.TryResolve(properties, path, out var actual) || !ValueEquals(expected, actual)) return false;
        }
        return true;
    }

    /// <summary>
    /// The canonical group of an event for a meter: <c>""</c> when the meter has no group_by;
    /// otherwise a compact JSON object with the group_by paths as keys, in the meter's order, each
    /// value the property as a string (strings as they are, numbers canonical so <c>1.0</c> and
    /// <c>1</c> both give <c>"1"</c>, booleans <c>"true"</c>/<c>"false"</c>) or <c>null</c> when the
    /// property is missing, null, an object or an array. Example:
    /// <c>{"model":"gpt-4o","region":null}</c>. The key is as long as the values in it (bounded only
    /// by the event's size), so storage that indexes it may want to index a hash of it.
    /// </summary>
    public static string GroupKey(MeterDefinition meter, JsonElement properties)
    {
        ArgumentNullException.ThrowIfNull(meter);
        return WriteKey(meter.GroupBy, properties,
            static (properties, path) => PropertyPath.TryResolve(properties, path, out var value) ? PropertyText.Render(value) : null);
    }

    /// <summary>
    /// Re-keys a stored group key onto <paramref name="groupBy"/>, a subset of the meter's group_by
    /// in any order (a usage query's <c>group_by</c>), so hourly cells can be regrouped before
    /// <see cref="UsageFold.Fold"/>: the result equals the <see cref="GroupKey"/> of the same event
    /// for a meter grouped by <paramref name="groupBy"/>. An empty list gives <c>""</c>, which folds
    /// all groups into one. A path the key lacks gets null, so callers check the query's paths
    /// against the meter's group_by first.
    /// </summary>
    public static string ProjectGroupKey(string key, IReadOnlyList<string> groupBy)
    {
        ArgumentNullException.ThrowIfNull(groupBy);
        if (groupBy.Count == 0) return "";
        var group = ParseGroupKey(key);
        return WriteKey(groupBy, group, static (group, path) => group.TryGetValue(path, out var value) ? value : null);
    }

    /// <summary>
    /// Turns a key made by <see cref="GroupKey"/> back into path → value (null for a missing
    /// value), in the key's order, for the usage response's <c>"group"</c> object. <c>""</c> gives an
    /// empty dictionary. Throws <see cref="FormatException"/> for text that is not such a key.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> ParseGroupKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var group = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (key.Length == 0) return group;
        try
        {
            using var document = JsonDocument.Parse(key);
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new FormatException("A group key is a JSON object.");
            foreach (var member in document.RootElement.EnumerateObject())
            {
                group[member.Name] = member.Value.ValueKind switch
                {
                    JsonValueKind.String => member.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => throw new FormatException("The values of a group key are strings or null."),
                };
            }
        }
        catch (JsonException e)
        {
            throw new FormatException("A group key is a JSON object.", e);
        }
        return group;
    }

    // The state is passed, not captured (no closure per key), and the text comes from the thread's reused writer.
    private static string WriteKey<TState>(IReadOnlyList<string> paths, TState state, Func<TState, string, string?> valueOf) =>
        paths.Count == 0 ? "" : CompactJson.Write((paths, state, valueOf), static (writer, s) =>
        {
            writer.WriteStartObject();
            foreach (var path in s.paths)
            {
                if (s.valueOf(s.state, path) is { } text) writer.WriteString(path, text);
                else writer.WriteNull(path);
            }
            writer.WriteEndObject();
        })!;

    private static bool ValueEquals(JsonElement expected, JsonElement actual) => expected.ValueKind switch
    {
        JsonValueKind.String => actual.ValueKind == JsonValueKind.String
            && PropertyText.TryGetString(expected, out var text) && actual.ValueEquals(text),
        JsonValueKind.True or JsonValueKind.False => actual.ValueKind == expected.ValueKind,
        JsonValueKind.Number => actual.ValueKind == JsonValueKind.Number
            && DecimalText.TryParse(expected.GetRawText(), allowExponent: true, out var e)
            && DecimalText.TryParse(actual.GetRawText(), allowExponent: true, out var a)
            && e == a,
        _ => false,
    };
}
