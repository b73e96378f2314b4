using System.Text.Json;
using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Events;

/// <summary>The event object of spec §10: also exactly the body a webhook delivers.</summary>
public sealed record EventResource(string Id, string Type, DateTimeOffset CreatedAt, bool Livemode, JsonElement Data, string? RequestId)
{
    [JsonPropertyOrder(-1)] public string Object => "event";

    public static EventResource From(EventRecord e)
    {
        using var doc = JsonDocument.Parse(e.Data);
        return new EventResource(e.Id, e.Type, e.CreatedAt, e.Livemode, doc.RootElement.Clone(), e.RequestId);
    }
}
