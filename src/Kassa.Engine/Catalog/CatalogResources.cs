using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary>The feature object of spec §3.1.</summary>
public sealed record FeatureResource(
    string Id, string Name, string Type, string? Unit, IReadOnlyList<CreditSchemaEntry>? CreditSchema, decimal? LowBalanceThreshold, bool Archived,
    bool Livemode, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "feature";

    public static FeatureResource From(FeatureRecord f) =>
        new(f.Id, f.Name, f.Type, f.Unit, f.CreditSchema, f.LowBalanceThreshold is { } t ? Kassa.Core.Balances.Micro.ToDecimal(t) : null,
            f.ArchivedAt is not null, f.Livemode, f.CreatedAt, f.UpdatedAt);
}

/// <summary>The product object of spec §3.2, with the prices and features of its current (or a given) version.</summary>
public sealed record ProductResource(
    string Id, string Name, string? Group, bool IsAddOn, bool AutoEnable, FreeTrial? FreeTrial, int Version,
    IReadOnlyList<Price> Prices, IReadOnlyList<ProductFeature> Features, IReadOnlyDictionary<string, string> Metadata,
    bool Archived, bool Livemode, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "product";

    public static ProductResource From(ProductRecord p, ProductVersionRecord v) =>
        new(p.Id, p.Name, p.Group, p.IsAddOn, p.AutoEnable, p.FreeTrial, v.Version, v.Prices, v.Features, p.Metadata,
            p.ArchivedAt is not null, p.Livemode, p.CreatedAt, p.UpdatedAt);
}

/// <summary>One version of a product's prices and features (<c>GET /v1/products/{id}/versions</c>).</summary>
public sealed record ProductVersionResource(string ProductId, int Version, IReadOnlyList<Price> Prices, IReadOnlyList<ProductFeature> Features, bool Current, DateTimeOffset CreatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "product_version";
}
