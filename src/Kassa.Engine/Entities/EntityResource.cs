using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Entities;

/// <summary>An entity (a seat, a workspace): it uses one unit of <see cref="FeatureId"/> and carries per-entity balances.</summary>
public sealed record EntityResource(string Id, string CustomerId, string FeatureId, string? Name, bool Livemode, DateTimeOffset CreatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "entity";

    public static EntityResource From(EntityRecord e) => new(e.Id, e.CustomerId, e.FeatureId, e.Name, e.Livemode, e.CreatedAt);
}
