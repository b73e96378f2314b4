using System.Text.Json.Serialization;
using Kassa.Engine.Json;

namespace Kassa.Engine.Storage;

/// <summary>One entry of a credit system's schema: using <see cref="FeatureId"/> once costs <see cref="CreditCost"/> credits.</summary>
public sealed record CreditSchemaEntry(string? FeatureId, decimal? CreditCost);

public sealed record FeatureRecord(
    string AccountId, bool Livemode, string Id, string Name, string Type, string? Unit, IReadOnlyList<CreditSchemaEntry>? CreditSchema,
    DateTimeOffset? ArchivedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long? LowBalanceThreshold = null);

public sealed record FreeTrial(int Days, bool CardRequired = true);

/// <summary>A tier of a graduated or volume price; <see cref="UpTo"/> null is the open last tier.</summary>
public sealed record PriceTier(
    decimal? UpTo,
    [property: JsonConverter(typeof(DecimalStringConverter))] decimal? UnitAmountDecimal,
    long? FlatAmount);

/// <summary>
/// A price of a product version, stored and answered in the spec's shape (§3.2). Which fields apply
/// depends on <see cref="Type"/> and <see cref="Model"/>; validation rejects the rest.
/// </summary>
public sealed record Price(
    string? Id, string? Type, string? Currency, long? Amount, string? Interval, int? IntervalCount,
    string? FeatureId, string? Billing, string? Model,
    [property: JsonConverter(typeof(DecimalStringConverter))] decimal? UnitAmountDecimal,
    decimal? PackageSize, IReadOnlyList<PriceTier>? Tiers);

public sealed record Rollover(decimal? Max);

/// <summary>What a product grants of one feature (§3.2 <c>features[]</c>).</summary>
public sealed record ProductFeature(
    string? FeatureId, Included? Included, string? Reset, string? Overage, Rollover? Rollover, string? PerEntity);

public sealed record ProductRecord(
    string AccountId, bool Livemode, string Id, string Name, string? Group, bool IsAddOn, bool AutoEnable, FreeTrial? FreeTrial,
    int Version, IReadOnlyDictionary<string, string> Metadata, DateTimeOffset? ArchivedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record ProductVersionRecord(
    string AccountId, bool Livemode, string ProductId, int Version, IReadOnlyList<Price> Prices, IReadOnlyList<ProductFeature> Features,
    DateTimeOffset CreatedAt);

/// <summary>The subscription facts the catalog needs (versioning, pricing-table scenarios).</summary>
public sealed record SubscriptionSummary(string Id, string ProductId, int ProductVersion, string Status, string? ScheduledProductId);
