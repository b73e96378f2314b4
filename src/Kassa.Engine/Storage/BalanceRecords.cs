using Kassa.Core.Balances;

namespace Kassa.Engine.Storage;

/// <summary>
/// What a customer's plan grants of one feature (and one entity) each period, and the usage past
/// zero. Mutable: the balance engine changes it in memory and writes it back once per batch.
/// </summary>
public sealed class BalanceHeader
{
    public required string AccountId { get; init; }
    public required bool Livemode { get; init; }
    public required string CustomerId { get; init; }
    public required string FeatureId { get; init; }
    public string EntityId { get; init; } = "";
    public long Overage { get; set; }
    public required string OveragePolicy { get; set; }
    public bool Unlimited { get; set; }
    /// <summary>Micro-units granted by the plan each period (0 when only grants feed this balance).</summary>
    public long Allowance { get; set; }
    /// <summary>hour, day, week, month, year or never.</summary>
    public required string Reset { get; set; }
    public DateTimeOffset Anchor { get; set; }
    public DateTimeOffset PeriodStart { get; set; }
    public DateTimeOffset? NextResetAt { get; set; }
    public bool Rollover { get; set; }
    public long? RolloverMax { get; set; }
    public string? SubscriptionId { get; set; }
    /// <summary>
    /// JSON of the catalog usage price that bills this balance's overage (policy <c>billed</c>), copied
    /// from the subscribed product version; what a spend cap is priced with. Null when nothing prices it.
    /// </summary>
    public string? OveragePrice { get; set; }
    public long Version { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public bool IsNew { get; set; }
}

/// <summary>A bucket with the keys it is stored under.</summary>
public sealed class StoredBucket
{
    public required string AccountId { get; init; }
    public required bool Livemode { get; init; }
    public required string CustomerId { get; init; }
    public required string FeatureId { get; init; }
    public string EntityId { get; init; } = "";
    public required Bucket Bucket { get; init; }
    public string? Name { get; init; }
    public string? Metadata { get; init; }
    public bool IsNew { get; set; }
    /// <summary>The stored numbers, to write back only buckets that changed.</summary>
    public (long Granted, long Used, long Held, bool Voided, bool ExpiryRecorded, DateTimeOffset? ExpiresAt) Loaded { get; set; }

    public bool Changed =>
        Loaded != (Bucket.Granted, Bucket.Used, Bucket.Held, Bucket.Voided, Bucket.ExpiryRecorded, Bucket.ExpiresAt);
}

public sealed record LockRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string FeatureId, string EntityId, string Status, long Held, long? Consumed,
    IReadOnlyList<Part> Parts, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt, DateTimeOffset? FinalizedAt);

public sealed record UsageRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string FeatureId, string EntityId, long Value, string? IdempotencyKey,
    string? Response, DateTimeOffset OccurredAt, DateTimeOffset CreatedAt);

public sealed record CreditTransactionRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string FeatureId, string EntityId, string Type, long Amount, string? BucketId,
    long BalanceAfter, string? SourceType, string? SourceId, DateTimeOffset CreatedAt);
