using System.Text.Json;
using Kassa.Core.Metering;
using Kassa.Core.Paging;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>A stored meter; <see cref="FilterJson"/> is the filter object as compact JSON.</summary>
public sealed record MeterRecord(
    string AccountId, bool Livemode, string Id, string Name, string EventName, Aggregation Aggregation, string? ValueProperty,
    IReadOnlyList<string> GroupBy, string FilterJson, string? FeatureId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public MeterDefinition ToDefinition()
    {
        using var doc = JsonDocument.Parse(FilterJson);
        var filter = doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        return new MeterDefinition(Id, Name, EventName, Aggregation, ValueProperty, GroupBy, filter, FeatureId);
    }
}

/// <summary>A raw event as stored.</summary>
public sealed record StoredMeterEvent(string Id, string EventName, string CustomerId, DateTimeOffset Timestamp, string PropertiesJson, DateTimeOffset ReceivedAt);

/// <summary>
/// One hourly rollup cell of a meter, customer and group values. <see cref="Overflowed"/>: its total passed
/// 64-bit micro-units, so the cell's figures mean nothing and a usage query over it answers quantity_overflow.
/// </summary>
public readonly record struct RollupRow(string MeterId, string CustomerId, DateTimeOffset Hour, string GroupKey, RollupCell Cell, bool Overflowed = false);

/// <summary>
/// The events of one roll: every committed event at or above the watermark and below <see cref="Upper"/>,
/// which becomes the watermark when the roll commits. Each row's own text is the event's properties (JSON); the
/// event ids are not read (a roll folds by customer and time). Dispose it when folded (<see cref="EventPass"/>).
/// </summary>
public sealed record RollChunk(long Upper, EventPass Events) : IDisposable
{
    public void Dispose() => Events.Dispose();
}

/// <summary>One pass of SQLite's event indexer: the events it indexed and its watermark after it.</summary>
public sealed record IndexPass(int Events, long Watermark);

/// <summary>
/// What SQLite's indexer read: the events at positions [<see cref="Watermark"/>, <see cref="Upper"/>), their index
/// keys (each row's own text is the event id). Dispose it when written (<see cref="EventPass"/>).
/// </summary>
public sealed record EventsToIndex(long Watermark, long Upper, EventPass Events) : IDisposable
{
    public void Dispose() => Events.Dispose();
}

/// <summary>
/// Where the roller stands: its watermark, the committed events not folded yet (counted up to a bound),
/// the newest event time it folded and the received times of the events behind it. Read-only, for
/// metrics and operators.
/// </summary>
public sealed record RollerStatus(long Watermark, long EventsBehind, bool EventsBehindCapped, DateTimeOffset? RolledThrough, DateTimeOffset? OldestUnrolled,
    DateTimeOffset? NewestUnrolled, long RolledEvents, DateTimeOffset? LastRollAt)
{
    /// <summary>
    /// How far the rollups trail ingest: the newest committed event's receipt time minus the newest one
    /// folded (or, before the first roll, the oldest unfolded one); zero when nothing is behind.
    /// </summary>
    public TimeSpan Lag => EventsBehind == 0 || NewestUnrolled is not { } newest ? TimeSpan.Zero
        : newest - (RolledThrough is { } through && through < newest ? through : OldestUnrolled ?? newest);
}

/// <summary>
/// The cells of one group summed over one bucket of hours (a whole UTC hour or day starting at
/// <see cref="Bucket"/>) and over customers: count and sum add, min and max merge. The latest value
/// is not kept (a <c>latest</c> meter reads hourly cells instead).
/// </summary>
public sealed record BucketCell(DateTimeOffset Bucket, string GroupKey, RollupCell Cell);

/// <summary>A distinct value a unique_count meter saw in one bucket of hours (over customers).</summary>
public sealed record BucketValue(DateTimeOffset Bucket, string GroupKey, string Value);

/// <summary>A distinct value a unique_count meter saw in one hour.</summary>
public readonly record struct UniqueValueRow(string MeterId, string CustomerId, DateTimeOffset Hour, string GroupKey, string Value);

public interface IMeteringStore
{
    Task<MeterRecord?> GetMeterAsync(Tenant tenant, string id);
    /// <summary>False when a meter with this id already exists.</summary>
    Task<bool> InsertMeterAsync(MeterRecord meter);
    Task<IReadOnlyList<MeterRecord>> ListMetersAsync(Tenant tenant, Cursor? after, int limit);
    /// <summary>The tenant's meters for these event names: at most <paramref name="perNameLimit"/> per name (the first by id).</summary>
    Task<IReadOnlyList<MeterRecord>> MetersForEventNamesAsync(Tenant tenant, IReadOnlyCollection<string> eventNames, int perNameLimit);
    /// <summary>Every tenant's meter with this id (for the rebuild command).</summary>
    Task<IReadOnlyList<MeterRecord>> FindMetersAsync(string id);

    /// <summary>
    /// Inserts the events whose id is not stored yet for the tenant; the unique key decides, in this
    /// transaction. Returns the ids actually inserted. Ids must be distinct within the call.
    /// </summary>
    Task<IReadOnlySet<string>> InsertEventsAsync(Tenant tenant, IReadOnlyList<NormalizedEvent> events, DateTimeOffset receivedAt);
    /// <summary>Adds the cells to the stored ones (count and sum add, min/max/latest merge). Keys must be distinct.</summary>
    Task UpsertRollupsAsync(Tenant tenant, IReadOnlyList<RollupRow> rows);
    Task InsertUniqueValuesAsync(Tenant tenant, IReadOnlyList<UniqueValueRow> rows);

    /// <summary>Rollup cells of a meter with hour in [from, to), of one customer or all; at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<RollupRow>> LoadRollupsAsync(Tenant tenant, string meterId, string? customerId, DateTimeOffset from, DateTimeOffset to, int limit);
    /// <summary>
    /// Rollup cells with hour in [from, to), of one customer or all, summed per bucket of
    /// <paramref name="bucketMicros"/> (an hour or a day, aligned to the Unix epoch, so to UTC days) and
    /// group key by the database: a customer-month answers in about 30 rows per group instead of 744.
    /// At most <paramref name="limit"/> rows.
    /// </summary>
    Task<IReadOnlyList<BucketCell>> SumRollupsAsync(Tenant tenant, string meterId, string? customerId, DateTimeOffset from, DateTimeOffset to, long bucketMicros,
        int limit);
    /// <summary>The distinct values per bucket and group key, as <see cref="SumRollupsAsync"/> buckets them.</summary>
    Task<IReadOnlyList<BucketValue>> DistinctValuesAsync(Tenant tenant, string meterId, string? customerId, DateTimeOffset from, DateTimeOffset to, long bucketMicros,
        int limit);

    /// <summary>Raw events, newest first by (timestamp, id), filtered; keyset paged.</summary>
    Task<IReadOnlyList<StoredMeterEvent>> ListEventsAsync(Tenant tenant, string? customerId, string? eventName, DateTimeOffset? from, DateTimeOffset? to,
        Cursor? after, int limit);
    /// <summary>
    /// Events of one name in (timestamp, id) order after a position, for recomputing rollups; with
    /// <paramref name="rolledBelow"/>, only the events behind that watermark (the rolled ones).
    /// </summary>
    Task<IReadOnlyList<StoredMeterEvent>> EventsInOrderAsync(Tenant tenant, string eventName, (DateTimeOffset At, string Id)? after, int limit,
        long? rolledBelow = null);
    Task DeleteRollupsAsync(Tenant tenant, string meterId);

    // ---- the roller (ADR 0006) ----

    /// <summary>Locks the roller's watermark row until the transaction ends (other rollers and rebuilds wait) and returns the watermark.</summary>
    Task<long> LockRollerAsync();
    /// <summary>The watermark as committed: events below it (or stored before the roller existed) are in the rollups.</summary>
    Task<long> ReadWatermarkAsync();
    /// <summary>
    /// The next events to fold, after <see cref="LockRollerAsync"/>: committed events at or above the
    /// watermark whose position is final (no transaction can still add a lower one), about
    /// <paramref name="eventsMax"/> of them (more only when one ingest transaction wrote more; it is never split).
    /// </summary>
    Task<RollChunk> NextRollChunkAsync(long watermark, int eventsMax);
    /// <summary>
    /// PostgreSQL: records the rolled events — those at positions [<paramref name="watermark"/>, <paramref name="upper"/>) —
    /// in the customer and time order the list and usage queries read, in the roll's transaction (ADR 0006, "The event
    /// index"), copying the range inside the database. SQLite: nothing; its indexer does it (<see cref="IndexEventsAsync"/>).
    /// </summary>
    /// <returns>Whether the roll wrote the index (PostgreSQL).</returns>
    Task<bool> IndexRolledEventsAsync(long watermark, long upper);
    /// <summary>
    /// SQLite's indexer (ADR 0006, "The event index in its own file"), in a read session: its watermark and at most
    /// <paramref name="eventsMax"/> committed events at or above it, for <see cref="IndexEventsAsync"/>.
    /// </summary>
    Task<EventsToIndex> ReadEventsToIndexAsync(int eventsMax);
    /// <summary>
    /// SQLite's indexer, in a <c>WriteEventIndexAsync</c> transaction: indexes the events read and moves its watermark
    /// past them, unless it moved since the read (then nothing is written and the pass has no events).
    /// </summary>
    Task<IndexPass> IndexEventsAsync(EventsToIndex read, DateTimeOffset now);
    /// <summary>SQLite: how far the indexer is behind — the receipt-time span of the committed events at or above its watermark (zero when none).</summary>
    Task<TimeSpan> IndexerLagAsync();
    /// <summary>Stores the new watermark (in the roll's transaction, so the rollups and the watermark move together).</summary>
    Task AdvanceRollerAsync(long watermark, DateTimeOffset? rolledThrough, long events, DateTimeOffset now);
    /// <summary>Events of one name not yet folded (at or above <paramref name="watermark"/>) with a timestamp in [from, to), of one customer or all.</summary>
    Task<IReadOnlyList<StoredMeterEvent>> UnrolledEventsAsync(Tenant tenant, string? customerId, string eventName, long watermark, DateTimeOffset from,
        DateTimeOffset to, int limit);
    /// <summary>Where the roller stands; events behind are counted up to <paramref name="countMax"/>.</summary>
    Task<RollerStatus> RollerStatusAsync(int countMax);
}
