namespace Kassa.Core.Balances;

/// <summary>Where a bucket's units come from.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(SnakeCaseEnumConverter<BucketKind>))]
public enum BucketKind
{
    /// <summary>A reset period's plan allowance; expires at the period's reset.</summary>
    Allowance,
    /// <summary>Unused allowance carried into the next period.</summary>
    Rollover,
    /// <summary>A credit grant (<c>POST /v1/credit_grants</c>).</summary>
    Grant,
}

/// <summary>Whether a bucket's units were given away or paid for; promotional units burn first.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(SnakeCaseEnumConverter<GrantCategory>))]
public enum GrantCategory
{
    /// <summary>Given away (plan allowances, rollovers, promotional grants).</summary>
    Promotional,
    /// <summary>Paid for by the customer.</summary>
    Paid,
}

/// <summary>
/// The mutable state of one bucket of a balance, in micro-units. Invariants kept by
/// <see cref="FeatureBalance"/>: <c>Used ≥ 0</c>, <c>Held ≥ 0</c> and <c>Remaining ≥ 0</c>.
/// The setters exist for the engine and storage; changing numbers directly bypasses the
/// movement log.
/// </summary>
public sealed class Bucket
{
    /// <summary>
    /// Creates a bucket. Throws <see cref="ArgumentException"/> for an empty id and
    /// <see cref="ArgumentOutOfRangeException"/> when <paramref name="used"/> or <paramref name="held"/>
    /// is negative or <paramref name="granted"/> is below <c>used + held</c>: such a bucket would
    /// report negative remaining, which no operation of the core can produce.
    /// </summary>
    public Bucket(string id, BucketKind kind, int priority, GrantCategory category, long granted, long used, long held,
        DateTimeOffset effectiveAt, DateTimeOffset? expiresAt, DateTimeOffset createdAt, bool voided = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentOutOfRangeException.ThrowIfNegative(used);
        ArgumentOutOfRangeException.ThrowIfNegative(held);
        ArgumentOutOfRangeException.ThrowIfLessThan(granted, checked(used + held));
        Id = id;
        Kind = kind;
        Priority = priority;
        Category = category;
        Granted = granted;
        Used = used;
        Held = held;
        EffectiveAt = effectiveAt;
        ExpiresAt = expiresAt;
        CreatedAt = createdAt;
        Voided = voided;
    }

    /// <summary>The bucket's id (ordinal; the last tie-break of the burn-down order).</summary>
    public string Id { get; }

    /// <summary>Allowance, rollover or grant.</summary>
    public BucketKind Kind { get; }

    /// <summary>Burn-down priority, lower first (plan allowance 0, grants 10 by default).</summary>
    public int Priority { get; }

    /// <summary>Promotional units burn before paid ones of the same priority and expiry.</summary>
    public GrantCategory Category { get; }

    /// <summary>Micro-units put into the bucket (reduced only by a void of what was left).</summary>
    public long Granted { get; set; }

    /// <summary>Micro-units consumed from the bucket.</summary>
    public long Used { get; set; }

    /// <summary>Micro-units held by open locks.</summary>
    public long Held { get; set; }

    /// <summary>When the bucket starts counting (inclusive).</summary>
    public DateTimeOffset EffectiveAt { get; }

    /// <summary>When the bucket stops counting (exclusive); null = never.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>When the bucket was made; older buckets burn first among equals.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>A voided bucket is never usable; its remaining was removed.</summary>
    public bool Voided { get; set; }

    /// <summary>
    /// True once the bucket's expiry has been written to the movement log (by
    /// <see cref="FeatureBalance.ExpireDue"/>), so it is reported once. Storage sets it when it
    /// reloads a bucket. Units that return to such a bucket later (a released hold, a correction)
    /// are recorded as expired at once.
    /// </summary>
    public bool ExpiryRecorded { get; set; }

    /// <summary>Granted − Used − Held: what is left to consume (≥ 0 by invariant).</summary>
    public long Remaining => Granted - Used - Held;

    /// <summary>
    /// Whether the bucket counts at <paramref name="now"/>: not voided, <c>EffectiveAt ≤ now</c>, and
    /// <c>now &lt; ExpiresAt</c> when it expires (periods are half-open: at its reset the bucket is gone).
    /// </summary>
    public bool IsUsable(DateTimeOffset now) =>
        !Voided && EffectiveAt <= now && (ExpiresAt is not { } expires || now < expires);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Id} {Kind} p{Priority} {Category} granted={Granted} used={Used} held={Held} " +
        $"effective={EffectiveAt:O} expires={(ExpiresAt is { } e ? e.ToString("O") : "never")}{(Voided ? " voided" : "")}{(ExpiryRecorded ? " expiry-recorded" : "")}";
}
