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

/// <summary>One hourly rollup cell of a meter, customer and group values.</summary>
public sealed record RollupRow(string MeterId, string CustomerId, DateTimeOffset Hour, string GroupKey, RollupCell Cell);

/// <summary>
/// The cells of one group summed over one bucket of hours (a whole UTC hour or day starting at
/// <see cref="Bucket"/>) and over customers: count and sum add, min and max merge. The latest value
/// is not kept (a <c>latest</c> meter reads hourly cells instead).
/// </summary>
public sealed record BucketCell(DateTimeOffset Bucket, string GroupKey, RollupCell Cell);

/// <summary>A distinct value a unique_count meter saw in one bucket of hours (over customers).</summary>
public sealed record BucketValue(DateTimeOffset Bucket, string GroupKey, string Value);

/// <summary>A distinct value a unique_count meter saw in one hour.</summary>
public sealed record UniqueValueRow(string MeterId, string CustomerId, DateTimeOffset Hour, string GroupKey, string Value);

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
    /// <summary>Events of one name in (timestamp, id) order after a position, for recomputing rollups.</summary>
    Task<IReadOnlyList<StoredMeterEvent>> EventsInOrderAsync(Tenant tenant, string eventName, (DateTimeOffset At, string Id)? after, int limit);
    /// <summary>
    /// Keeps event inserts out until the transaction ends (PostgreSQL: a table lock; SQLite's single
    /// writer already does), so a rebuild reads every event exactly once.
    /// </summary>
    Task LockEventsAsync();
    Task DeleteRollupsAsync(Tenant tenant, string meterId);
}
