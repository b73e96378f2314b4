using System.Text.Json;
using System.Text.Json.Serialization;
using Kassa.Core.Metering;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Metering;

public sealed record MeterResource(
    string Id, string Name, string EventName, string Aggregation, string? ValueProperty, IReadOnlyList<string> GroupBy, JsonElement Filter,
    string? FeatureId, bool Livemode, DateTimeOffset CreatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "meter";

    public static MeterResource From(MeterRecord m)
    {
        using var filter = JsonDocument.Parse(m.FilterJson);
        return new(m.Id, m.Name, m.EventName, Aggregations.ToWire(m.Aggregation), m.ValueProperty, m.GroupBy, filter.RootElement.Clone(), m.FeatureId,
            m.Livemode, m.CreatedAt);
    }
}

/// <summary>A raw event as <c>GET /v1/meter_events</c> lists it.</summary>
public sealed record MeterEventResource(string Id, string EventName, string CustomerId, DateTimeOffset Timestamp, JsonElement Properties, DateTimeOffset ReceivedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "meter_event";

    public static MeterEventResource From(StoredMeterEvent e)
    {
        using var properties = JsonDocument.Parse(e.PropertiesJson);
        return new(e.Id, e.EventName, e.CustomerId, e.Timestamp, properties.RootElement.Clone(), e.ReceivedAt);
    }
}
