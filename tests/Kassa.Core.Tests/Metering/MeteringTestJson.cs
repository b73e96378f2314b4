using System.Text.Json;
using Kassa.Core.Metering;

namespace Kassa.Core.Tests.Metering;

/// <summary>Short builders for metering tests.</summary>
internal static class MeteringTestJson
{
    /// <summary>Parses JSON written with single quotes (<c>{'a': 1}</c>) so test data stays readable.</summary>
    public static JsonElement J(string json) => JsonDocument.Parse(json.Replace('\'', '"')).RootElement.Clone();

    /// <summary>A cell's columns as one comparable value.</summary>
    public static (long Count, long Sum, long Min, long Max, long LatestValue, DateTimeOffset LatestAt) Snap(RollupCell cell) =>
        (cell.Count, cell.Sum, cell.Min, cell.Max, cell.LatestValue, cell.LatestAt);

    public static MeterDefinition Meter(
        Aggregation aggregation = Aggregation.Sum,
        string? valueProperty = "tokens",
        string eventName = "llm.call",
        string[]? groupBy = null,
        string? filter = null) =>
        new("tokens", "Tokens", eventName, aggregation, aggregation == Aggregation.Count ? null : valueProperty,
            groupBy ?? [],
            filter is null ? new Dictionary<string, JsonElement>() : J(filter).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone()),
            null);
}
