using Kassa.Core.Balances;
using Kassa.Engine.Common;

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
    /// <summary>
    /// What happens past zero; null for a boolean feature's entitlement, which has no balance and so no
    /// overage policy (a flag). Stored in the <c>overage_policy</c> column as its snake_case name, and
    /// a flag as <c>boolean</c> (the string rows always had), parsed once by the store.
    /// </summary>
    public required OveragePolicy? OveragePolicy { get; set; }
    /// <summary>A boolean feature's entitlement: on when the row exists; no balance, no overage policy.</summary>
    public bool IsFlag => OveragePolicy is null;
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
    /// The subscription that granted this balance is paused: check denies it (spec §4.2). Set and
    /// cleared only by pause and resume (<see cref="ISubscriptionStore.SuspendBalancesAsync"/>); read
    /// with the header, so check needs no other query.
    /// </summary>
    public bool Suspended { get; set; }
    /// <summary>
    /// JSON of the catalog usage price that bills this balance's overage (policy <c>billed</c>), copied
    /// from the subscribed product version; what a spend cap is priced with. Null when nothing prices it.
    /// </summary>
    public string? OveragePrice { get; set; }
    public long Version { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public bool IsNew { get; set; }

    /// <summary>The columns a save writes, as one comparable value.</summary>
    public (long, OveragePolicy?, bool, long, string, DateTimeOffset, DateTimeOffset, DateTimeOffset?, bool, long?, string?, DateTimeOffset, string?) Columns =>
        (Overage, OveragePolicy, Unlimited, Allowance, Reset, Anchor, PeriodStart, NextResetAt, Rollover, RolloverMax, SubscriptionId, UpdatedAt, OveragePrice);

    /// <summary><see cref="Columns"/> as the store last read or wrote them; null for a header not stored yet.</summary>
    public (long, OveragePolicy?, bool, long, string, DateTimeOffset, DateTimeOffset, DateTimeOffset?, bool, long?, string?, DateTimeOffset, string?)? Stored { get; set; }

    /// <summary>
    /// Whether a save would change the stored row. A batch that only moved a balance's buckets (most
    /// checks and tracks) leaves the header as it was and skips its UPDATE: one row write fewer per customer.
    /// </summary>
    public bool Changed => IsNew || Stored != Columns;

    /// <summary>Whether the next reset moved (the one column of a save that an index covers, feature_balances_due).</summary>
    public bool NextResetChanged => Stored is not { } stored || stored.Item8 != NextResetAt;
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
    /// <summary>The stored numbers, to write back only buckets that changed (<see cref="MarkStored"/> sets them).</summary>
    public (long Granted, long Used, long Held, bool Voided, bool ExpiryRecorded, DateTimeOffset? ExpiresAt) Loaded { get; private set; }

    private (long, long, long, bool, bool, DateTimeOffset?) Current =>
        (Bucket.Granted, Bucket.Used, Bucket.Held, Bucket.Voided, Bucket.ExpiryRecorded, Bucket.ExpiresAt);

    public bool Changed => Loaded != Current;

    /// <summary>The store now holds the bucket as it is in memory: after a load, a write, or a copy of what was written (the balance memory).</summary>
    public void MarkStored()
    {
        IsNew = false;
        Loaded = Current;
    }

    /// <summary>Whether a column an index covers (voided, expiry_recorded, expires_at) changed, not only the amounts.</summary>
    public bool StatusChanged =>
        (Loaded.Voided, Loaded.ExpiryRecorded, Loaded.ExpiresAt) != (Bucket.Voided, Bucket.ExpiryRecorded, Bucket.ExpiresAt);
}

/// <summary>
/// The totals of one feature's live grants (effective, not expired, not voided), in micro-units, and
/// what expires next: the earliest expiry among grants with something left, and how much is left
/// in the grants expiring then. Each total fits a long: a balance's granted total is kept within
/// the quantity bound.
/// </summary>
public sealed record GrantTotals(string FeatureId, long Granted, long Used, long Remaining, DateTimeOffset? ExpiringAt, long ExpiringAmount);

public sealed record LockRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string FeatureId, string EntityId, LockStatus Status, long Held, long? Consumed,
    IReadOnlyList<Part> Parts, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt, DateTimeOffset? FinalizedAt);

public sealed record UsageRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string FeatureId, string EntityId, long Value, string? IdempotencyKey,
    string? Response, DateTimeOffset OccurredAt, DateTimeOffset CreatedAt);

/// <summary>
/// What a balance batch or read loads for some customers of one tenant (<see cref="IBalanceStore.LoadBookAsync"/>).
/// <paramref name="FeatureIds"/> empty: no features are read; <paramref name="IdempotencyKeys"/> empty: no usage
/// records. <paramref name="ByLockIds"/>: the caller also loaded locks by id, so buckets and held locks are read
/// even for customers without a balance row. <paramref name="LockCustomers"/> (with customers not known to exist):
/// the live customers' rows are locked as a read for update locks them (PostgreSQL; SQLite has one writer).
/// </summary>
public sealed record BookQuery(
    Tenant Tenant, IReadOnlyCollection<string> CustomerIds, bool ForUpdate, DateTimeOffset Now, bool CustomersKnownToExist,
    IReadOnlyCollection<string> FeatureIds, IReadOnlyCollection<string> IdempotencyKeys, bool ByLockIds = false, bool LockCustomers = false);

/// <summary>
/// The rows of a <see cref="BookQuery"/>: the customers that exist and are not deleted (the ones asked for
/// when the caller knew them to exist), their balance headers, live buckets and held locks, the features
/// asked for together with every credit system, and the usage records holding any of the keys.
/// </summary>
public sealed record BookRows(
    IReadOnlySet<string> Customers, IReadOnlyList<BalanceHeader> Headers, IReadOnlyList<StoredBucket> Buckets, IReadOnlyList<LockRecord> HeldLocks,
    IReadOnlyList<FeatureRecord> Features, IReadOnlyList<UsageRecord> Usage);

public sealed record CreditTransactionRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string FeatureId, string EntityId, MovementType Type, long Amount, string? BucketId,
    long BalanceAfter, string? SourceType, string? SourceId, DateTimeOffset CreatedAt);

/// <summary>A bucket sold as prepaid credits whose revenue is not yet all recognised (amounts in minor units, quantities in micro-units).</summary>
public sealed record DeferredBucket(
    string AccountId, bool Livemode, string CustomerId, string FeatureId, string EntityId, string Id, long Granted, long Used, bool Voided,
    long DeferredAmount, string Currency, long RecognizedAmount);

/// <summary>What SQLite's credit indexer read (ADR 0018): the movements at positions [<see cref="Watermark"/>, <see cref="Upper"/>), their index keys.</summary>
public sealed record CreditsToIndex(long Watermark, long Upper, IReadOnlyList<CreditIndexKey> Keys);

/// <summary>A movement's keys in the credit index: its customer order and its position (rowid) in credit_transactions.</summary>
public readonly record struct CreditIndexKey(string AccountId, bool Livemode, string CustomerId, long CreatedMicros, string Id, long Position);
