using System.Text.Json;

namespace Kassa.Core.Metering;

/// <summary>
/// A meter (spec §6): which events it takes (<see cref="EventName"/> plus every <see cref="Filter"/>
/// entry), how it aggregates them, how it splits them into groups, and optionally the feature whose
/// balance each matching event is tracked against. Check one from outside with
/// <see cref="MeterRules.Validate(MeterDefinition)"/>.
/// </summary>
/// <param name="Id">The meter's slug, <c>[a-z0-9_-]{1,64}</c>.</param>
/// <param name="Name">A display name, 1–200 characters.</param>
/// <param name="EventName">The event name matched, ordinal and case-sensitive.</param>
/// <param name="Aggregation">How matching events become one number per window.</param>
/// <param name="ValueProperty">The <see cref="PropertyPath"/> aggregated; null exactly for <c>count</c>.</param>
/// <param name="GroupBy">Property paths whose values split usage into groups, in the order they appear in group keys.</param>
/// <param name="Filter">
/// Property path → required value (a string, number or boolean); an event matches only when every
/// entry is equal (see <see cref="MeterMatch.Matches"/>). The elements must outlive any request
/// document they came from: <see cref="MeterRules.Validate(MeterInput, out MeterDefinition?)"/> clones them.
/// </param>
/// <param name="FeatureId">The feature each matching event is tracked against, or null.</param>
public sealed record MeterDefinition(
    string Id,
    string Name,
    string EventName,
    Aggregation Aggregation,
    string? ValueProperty,
    IReadOnlyList<string> GroupBy,
    IReadOnlyDictionary<string, JsonElement> Filter,
    string? FeatureId);
