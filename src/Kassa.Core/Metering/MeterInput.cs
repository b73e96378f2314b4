using System.Text.Json;

namespace Kassa.Core.Metering;

/// <summary>
/// A meter as a client sent it, before validation: every field may be missing and
/// <see cref="Aggregation"/> is still the wire string, so that
/// <see cref="MeterRules.Validate(MeterInput, out MeterDefinition?)"/> can report an unknown
/// aggregation together with every other problem in one answer.
/// </summary>
public sealed record MeterInput(
    string? Id,
    string? Name,
    string? EventName,
    string? Aggregation,
    string? ValueProperty = null,
    IReadOnlyList<string?>? GroupBy = null,
    IReadOnlyDictionary<string, JsonElement>? Filter = null,
    string? FeatureId = null);
