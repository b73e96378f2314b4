using System.Text.Json.Serialization;
using Kassa.Core.Invoicing;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TaxRates;

/// <summary>A tax rate (spec §7): for a country, or one state of it; <c>percentage</c> exact (8.25), added on top or included in prices.</summary>
public sealed record TaxRateResource(
    string Id, string Name, string Country, string? State, decimal Percentage, bool Inclusive, bool Archived, DateTimeOffset? ArchivedAt,
    DateTimeOffset CreatedAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "tax_rate";

    public static TaxRateResource From(TaxRateRecord t) =>
        new(t.Id, t.Name, t.Country, t.State, t.Percentage, t.Inclusive, t.ArchivedAt is not null, t.ArchivedAt, t.CreatedAt, t.Livemode);

    /// <summary>The core's terms of a stored rate.</summary>
    public static TaxRateTerms Terms(TaxRateRecord t) => new(t.Id, t.Name, t.Country, t.State, t.Percentage, t.Inclusive, t.ArchivedAt is not null);
}
