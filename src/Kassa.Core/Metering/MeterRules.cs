using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Core.Validation;

namespace Kassa.Core.Metering;

/// <summary>
/// The rules a meter must satisfy. Every problem is reported at once, each under its wire field
/// name (<c>id</c>, <c>value_property</c>, <c>group_by[1]</c>, <c>filter.model</c>, ...), so the
/// list goes straight into <see cref="KassaError.Validation(IReadOnlyList{FieldError})"/>.
/// </summary>
public static class MeterRules
{
    /// <summary>The longest display name.</summary>
    public const int NameLengthMax = 200;

    /// <summary>The longest event name, for meters and events alike.</summary>
    public const int EventNameLengthMax = 200;

    /// <summary>The most group_by entries; each one multiplies the rows a usage query returns.</summary>
    public const int GroupByMax = 8;

    /// <summary>The most filter entries; every event is checked against all of them.</summary>
    public const int FilterEntriesMax = 16;

    /// <summary>The longest string a filter may compare against.</summary>
    public const int FilterStringLengthMax = 500;

    private const string AggregationMessage = "must be one of count, sum, max, min, unique_count, latest";

    /// <summary>
    /// Every problem with an already typed meter, in field order; empty when valid. An
    /// <see cref="Aggregation"/> outside the enum is reported as unknown. Null lists and
    /// dictionaries (from a careless deserialiser) count as empty.
    /// </summary>
    public static IReadOnlyList<FieldError> Validate(MeterDefinition meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        var errors = new List<FieldError>();
        Aggregation? aggregation = Enum.IsDefined(meter.Aggregation) ? meter.Aggregation : null;
        Check(meter.Id, meter.Name, meter.EventName, aggregation, aggregationGiven: true, meter.ValueProperty,
            meter.GroupBy?.Cast<string?>().ToList(), meter.Filter, meter.FeatureId, errors);
        return errors;
    }

    /// <summary>
    /// Validates what a client sent and, when there is no problem, builds the meter (group_by copied,
    /// filter values cloned so the meter does not depend on the request's JSON document). Missing
    /// required fields (<c>id</c>, <c>name</c>, <c>event_name</c>, <c>aggregation</c>) are reported as
    /// <c>is required</c> among the other problems; a caller that answers <c>parameter_missing</c> for
    /// them checks for null first. <paramref name="meter"/> is non-null exactly when the list is empty.
    /// </summary>
    public static IReadOnlyList<FieldError> Validate(MeterInput input, out MeterDefinition? meter)
    {
        ArgumentNullException.ThrowIfNull(input);
        meter = null;
        var errors = new List<FieldError>();
        Aggregation? aggregation = Aggregations.TryParse(input.Aggregation, out var parsed) ? parsed : null;
        Check(input.Id, input.Name, input.EventName, aggregation, input.Aggregation is not null, input.ValueProperty,
            input.GroupBy, input.Filter, input.FeatureId, errors);
        if (errors.Count > 0) return errors;
        var filter = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (key, value) in input.Filter ?? new Dictionary<string, JsonElement>()) filter[key] = value.Clone();
        meter = new MeterDefinition(input.Id!, input.Name!, input.EventName!, aggregation!.Value, input.ValueProperty,
            [.. input.GroupBy?.Select(g => g!) ?? []], filter, input.FeatureId);
        return errors;
    }

    /// <summary>
    /// The event-name rule shared by meters and events: 1–200 characters of storable text without
    /// control characters (a name with them could never be typed into a meter, so it could never match).
    /// </summary>
    public static string? EventName(string? eventName) =>
        eventName is null ? "is required" : Rules.Text(eventName, EventNameLengthMax, allowEmpty: false);

    private static void Check(string? id, string? name, string? eventName, Aggregation? aggregation, bool aggregationGiven,
        string? valueProperty, IReadOnlyList<string?>? groupBy, IReadOnlyDictionary<string, JsonElement>? filter, string? featureId,
        List<FieldError> errors)
    {
        if (id is null) errors.Add(new("id", "is required"));
        else if (Rules.Slug(id) is { } idError) errors.Add(new("id", idError));

        if (name is null) errors.Add(new("name", "is required"));
        else if (Rules.Text(name, NameLengthMax, allowEmpty: false) is { } nameError) errors.Add(new("name", nameError));

        if (EventName(eventName) is { } eventNameError) errors.Add(new("event_name", eventNameError));

        if (!aggregationGiven) errors.Add(new("aggregation", "is required"));
        else if (aggregation is null) errors.Add(new("aggregation", AggregationMessage));

        ValueProperty(valueProperty, aggregation, errors);
        GroupBy(groupBy, errors);
        Filter(filter, errors);

        if (featureId is not null && Rules.Slug(featureId) is { } featureError) errors.Add(new("feature_id", featureError));
    }

    private static void ValueProperty(string? path, Aggregation? aggregation, List<FieldError> errors)
    {
        if (aggregation is { } a && Aggregations.NeedsValueProperty(a) && path is null)
        {
            errors.Add(new("value_property", $"is required for the {Aggregations.ToWire(a)} aggregation"));
            return;
        }
        if (aggregation == Aggregation.Count && path is not null)
        {
            errors.Add(new("value_property", "must not be set for the count aggregation, which counts events"));
            return;
        }
        if (path is not null && PropertyPath.Validate(path) is { } pathError) errors.Add(new("value_property", pathError));
    }

    private static void GroupBy(IReadOnlyList<string?>? groupBy, List<FieldError> errors)
    {
        if (groupBy is null) return;
        if (groupBy.Count > GroupByMax)
        {
            // Checking the entries of an oversized list would only make the answer longer.
            errors.Add(new("group_by", $"may have at most {GroupByMax} entries"));
            return;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < groupBy.Count; i++)
        {
            var path = groupBy[i];
            var field = $"group_by[{i}]";
            if (path is null) errors.Add(new(field, "must not be null"));
            else if (PropertyPath.Validate(path) is { } pathError) errors.Add(new(field, pathError));
            else if (!seen.Add(path)) errors.Add(new(field, "repeats an earlier entry"));
        }
    }

    private static void Filter(IReadOnlyDictionary<string, JsonElement>? filter, List<FieldError> errors)
    {
        if (filter is null) return;
        if (filter.Count > FilterEntriesMax)
        {
            errors.Add(new("filter", $"may have at most {FilterEntriesMax} entries"));
            return;
        }
        // Sorted so the answer is the same whatever order the dictionary enumerates in.
        foreach (var (key, value) in filter.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var field = "filter." + PropertyText.Shorten(key);
            if (PropertyPath.Validate(key) is { } keyError)
            {
                errors.Add(new(field, "key " + keyError));
                continue;
            }
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    if (!PropertyText.TryGetString(value, out var text) || !Rules.IsStorable(text))
                        errors.Add(new(field, "must be valid Unicode text without NUL characters"));
                    else if (text.Length > FilterStringLengthMax)
                        errors.Add(new(field, $"must be at most {FilterStringLengthMax} characters"));
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    break;
                default:
                    errors.Add(new(field, "must be a string, number or boolean"));
                    break;
            }
        }
    }
}
