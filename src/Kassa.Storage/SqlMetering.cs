using System.Buffers;
using System.Data.Common;
using System.Text;
using System.Text.Json;
using Dapper;
using Kassa.Core.Metering;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Kassa.Storage;

internal sealed class SqlMetering(SqlSession s) : IMeteringStore
{
    internal const string MeterColumns = "account_id, livemode, id, name, event_name, aggregation, value_property, group_by, filter, feature_id, created_at, updated_at";
    private const string EventColumns = "id, event_name, customer_id, ts, properties, received_at";
    private const string RollupKey = "account_id, livemode, meter_id, customer_id, hour, group_key";

    // ---- meters -------------------------------------------------------------------------------

    /// <summary>
    /// Meters found by id, per database. Meters are never changed or deleted once created, so a meter read
    /// once stays right on every node; only found meters are kept (one created later on another node is
    /// read from the database the first time it is asked for). Emptied when full.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Database, string AccountId, bool Livemode, string Id), MeterRecord> Found = new();

    private const int FoundMax = 10_000;

    public async Task<MeterRecord?> GetMeterAsync(Tenant tenant, string id)
    {
        var key = (s.Connection.DataSource + "/" + s.Connection.Database, tenant.AccountId, tenant.Livemode, id);
        if (Found.TryGetValue(key, out var known)) return known;
        var meter = (await QueryMeters($"SELECT {MeterColumns} FROM meters WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();
        // Only what a read saw: a meter read inside a write transaction might still roll back with it.
        if (meter is null || s.Transaction is not null) return meter;
        if (Found.Count >= FoundMax) Found.Clear();
        Found[key] = meter;
        return meter;
    }

    public async Task<bool> InsertMeterAsync(MeterRecord m) =>
        await s.Connection.ExecuteAsync($"""
            INSERT INTO meters ({MeterColumns}) VALUES (@AccountId, @Livemode, @Id, @Name, @EventName, @aggregation, @ValueProperty, @groupBy, @FilterJson,
                @FeatureId, @created, @updated)
            ON CONFLICT DO NOTHING
            """, new
            {
                m.AccountId, m.Livemode, m.Id, m.Name, m.EventName, aggregation = Aggregations.ToWire(m.Aggregation), m.ValueProperty,
                groupBy = JsonSerializer.Serialize(m.GroupBy, KassaJson.Options), m.FilterJson, m.FeatureId,
                created = Micros.From(m.CreatedAt), updated = Micros.From(m.UpdatedAt),
            }, s.Transaction) == 1;

    public Task<IReadOnlyList<MeterRecord>> ListMetersAsync(Tenant tenant, Cursor? after, int limit) =>
        QueryMeters($"""
            SELECT {MeterColumns} FROM meters WHERE account_id = @AccountId AND livemode = @Livemode
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public Task<IReadOnlyList<MeterRecord>> MetersForEventNamesAsync(Tenant tenant, IReadOnlyCollection<string> eventNames, int perNameLimit) =>
        // The bound is per event name (a window over each name), so one name's many meters can never
        // crowd another name's out of the answer.
        QueryMeters($"""
            SELECT {MeterColumns} FROM (
              SELECT {MeterColumns}, ROW_NUMBER() OVER (PARTITION BY event_name ORDER BY id) AS rn
              FROM meters WHERE account_id = @AccountId AND livemode = @Livemode AND {In("event_name", "names", eventNames)}
            ) m WHERE rn <= @perNameLimit
            ORDER BY id
            """, new { tenant.AccountId, tenant.Livemode, names = List(eventNames), perNameLimit });

    public Task<IReadOnlyList<MeterRecord>> FindMetersAsync(string id) =>
        QueryMeters($"SELECT {MeterColumns} FROM meters WHERE id = @id ORDER BY account_id, livemode", new { id });

    internal async Task<IReadOnlyList<MeterRecord>> QueryMeters(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<MeterRecord>();
        while (await r.ReadAsync())
        {
            Aggregations.TryParse(r.GetString(5), out var aggregation);
            list.Add(new MeterRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), aggregation,
                r.IsDBNull(6) ? null : r.GetString(6), JsonSerializer.Deserialize<string[]>(r.GetString(7), KassaJson.Options) ?? [], r.GetString(8),
                r.IsDBNull(9) ? null : r.GetString(9), Micros.To(r.GetInt64(10)), Micros.To(r.GetInt64(11))));
        }
        return list;
    }

    // ---- ingestion ----------------------------------------------------------------------------

    public Task<IReadOnlySet<string>> InsertEventsAsync(Tenant tenant, IReadOnlyList<NormalizedEvent> events, DateTimeOffset receivedAt) =>
        events.Count == 0 ? Task.FromResult<IReadOnlySet<string>>(new HashSet<string>())
        : s.Native is NpgsqlConnection pg ? InsertEventsPostgres(pg, tenant, events, receivedAt)
        : InsertEventsSqlite(tenant, events, receivedAt);

    /// <summary>
    /// PostgreSQL: binary COPY into a per-connection staging table, then one insert-select that lets the
    /// primary key drop what is already stored. The insert empties the staging table, so a transaction
    /// may stage several tenants' batches one after the other. Rows go in id order, so two batches that share ids
    /// take their key locks in the same order and wait for each other instead of deadlocking (the staged ids sort
    /// by their bytes, as the key does since migration 0026).
    /// </summary>
    private async Task<IReadOnlySet<string>> InsertEventsPostgres(NpgsqlConnection pg, Tenant tenant, IReadOnlyList<NormalizedEvent> events, DateTimeOffset receivedAt)
    {
        // The driver's own commands below: what the session holds goes first (ADR 0022).
        await s.SendHeldAsync();
        var tx = (NpgsqlTransaction?)s.Transaction;
        await using (var create = new NpgsqlCommand("""
            CREATE TEMP TABLE IF NOT EXISTS meter_events_staging
              (id TEXT COLLATE "C" NOT NULL, event_name TEXT NOT NULL, customer_id TEXT NOT NULL, ts BIGINT NOT NULL, properties TEXT NOT NULL) ON COMMIT DELETE ROWS
            """, pg, tx))
        {
            await create.ExecuteNonQueryAsync();
        }
        await using (var copy = await pg.BeginBinaryImportAsync("COPY meter_events_staging (id, event_name, customer_id, ts, properties) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var e in events)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(e.Id, NpgsqlDbType.Text);
                await copy.WriteAsync(e.EventName, NpgsqlDbType.Text);
                await copy.WriteAsync(e.CustomerId, NpgsqlDbType.Text);
                await copy.WriteAsync(Micros.From(e.Timestamp), NpgsqlDbType.Bigint);
                await copy.WriteAsync(e.PropertiesJson, NpgsqlDbType.Text);
            }
            await copy.CompleteAsync();
        }
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        await using var insert = new NpgsqlCommand("""
            WITH staged AS (DELETE FROM meter_events_staging RETURNING *)
            INSERT INTO meter_events (account_id, livemode, id, event_name, customer_id, ts, properties, received_at)
            SELECT $1, $2, id, event_name, customer_id, ts, properties, $3 FROM staged ORDER BY id
            ON CONFLICT DO NOTHING RETURNING id
            """, pg, tx);
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant.AccountId });
        insert.Parameters.Add(new NpgsqlParameter { Value = tenant.Livemode });
        insert.Parameters.Add(new NpgsqlParameter { Value = Micros.From(receivedAt) });
        await using var r = await insert.ExecuteReaderAsync();
        while (await r.ReadAsync()) inserted.Add(r.GetString(0));
        return inserted;
    }

    /// <summary>
    /// SQLite: one prepared insert rebound per event, skipping stored ids. Each row gets the next position
    /// (<c>seq</c>) after the highest stored one: the main file has one writer, so no lower position can commit
    /// after this transaction (a skipped duplicate leaves a gap, which the roller steps over). The watermark is
    /// never past that (SqliteStore refuses to start on files where it is), so it is not read here: the writer
    /// does not open the rollups file at all (ADR 0006).
    /// <para>
    /// Row by row rather than one <c>INSERT … SELECT FROM json_each(@rows)</c> for the batch (until 2026-12-05):
    /// the multi-row statement journaled every page it touched in case it had to undo itself, SQLite parsed the
    /// rows' JSON once per column, and the batch's JSON text was built, copied to UTF-16 and back (~0.5 MB of
    /// large-object garbage a batch, which kept the server in background gen-2 collections). Microsoft.Data.Sqlite
    /// would look every parameter up by name on every row; <see cref="RowWriter.ExecuteEachSqlite{T}"/> binds by position.
    /// </para>
    /// </summary>
    private async Task<IReadOnlySet<string>> InsertEventsSqlite(Tenant tenant, IReadOnlyList<NormalizedEvent> events, DateTimeOffset receivedAt)
    {
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        var received = Micros.From(receivedAt);
        var next = await s.Connection.ExecuteScalarAsync<long>(
            "SELECT coalesce((SELECT max(seq) FROM meter_events WHERE seq IS NOT NULL), 0) + 1",
            transaction: s.Transaction);
        RowWriter.ExecuteEachSqlite(s, """
            INSERT INTO meter_events (account_id, livemode, id, event_name, customer_id, ts, properties, received_at, seq)
              VALUES (@a, @l, @id, @name, @customer, @ts, @properties, @received, @seq) ON CONFLICT DO NOTHING
            """, events,
            e => [tenant.AccountId, tenant.Livemode, e.Id, e.EventName, e.CustomerId, Micros.From(e.Timestamp), e.PropertiesJson, received, next++],
            (e, stored) =>
            {
                if (stored > 0) inserted.Add(e.Id);
            });
        return inserted;
    }

    /// <summary>
    /// Runs <paramref name="work"/>, turning the database's refusal of 64-bit integer arithmetic (SQLite:
    /// "integer overflow"; PostgreSQL: numeric_value_out_of_range) into <see cref="QuantityOverflowException"/>.
    /// </summary>
    private static async Task<T> OverflowChecked<T>(Func<Task<T>> work, string message)
    {
        try
        {
            return await work();
        }
        catch (Exception e) when (e is SqliteException { Message: var m } && m.Contains("integer overflow", StringComparison.Ordinal)
                                  || e is PostgresException { SqlState: PostgresErrorCodes.NumericValueOutOfRange })
        {
            throw new QuantityOverflowException(message, e);
        }
    }

    public async Task UpsertRollupsAsync(Tenant tenant, IReadOnlyList<RollupRow> rows)
    {
        if (rows.Count == 0) return;
        await OverflowChecked(async () =>
        {
            await UpsertRollupRowsAsync(tenant, rows);
            return true;
        }, QuantityOverflowException.DefaultMessage);
    }

    private async Task UpsertRollupRowsAsync(Tenant tenant, IReadOnlyList<RollupRow> rows)
    {
        var least = s.Dialect.IsPostgres ? "LEAST" : "min";
        var greatest = s.Dialect.IsPostgres ? "GREATEST" : "max";
        // A sum past 64 bits marks the cell overflowed instead of failing the roll (ingest no longer reads
        // the cells, so the events are stored already; a usage query over the cell answers quantity_overflow).
        // SQLite turns an integer sum past 64 bits into a REAL; PostgreSQL is asked through numeric.
        var overflows = s.Dialect.IsPostgres
            ? "(meter_rollups.sum::numeric + excluded.sum) NOT BETWEEN -9223372036854775808 AND 9223372036854775807"
            : "typeof(meter_rollups.sum + excluded.sum) <> 'integer'";
        var overflowed = $"meter_rollups.overflowed OR excluded.overflowed OR {overflows}";
        // Every expression reads the stored row as it was: latest compares against the old latest_at.
        var onConflict = $"""
            ON CONFLICT ({RollupKey}) DO UPDATE SET
              count = meter_rollups.count + excluded.count,
              sum = CASE WHEN {overflowed} THEN 0 ELSE meter_rollups.sum + excluded.sum END,
              overflowed = {overflowed},
              min = {least}(meter_rollups.min, excluded.min),
              max = {greatest}(meter_rollups.max, excluded.max),
              latest = CASE WHEN excluded.latest_at > meter_rollups.latest_at
                              OR (excluded.latest_at = meter_rollups.latest_at AND excluded.latest > meter_rollups.latest)
                            THEN excluded.latest ELSE meter_rollups.latest END,
              latest_at = {greatest}(meter_rollups.latest_at, excluded.latest_at)
            """;
        const string insert = $"INSERT INTO meter_rollups ({RollupKey}, count, sum, min, max, latest, latest_at, overflowed)";
        if (s.Native is NpgsqlConnection pg)
        {
            await s.SendHeldAsync();
            // One statement whatever the row count: the cells travel as arrays.
            await using var command = new NpgsqlCommand(insert + "\n" + """
                SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::boolean[])
                """ + "\n" + onConflict, pg, (NpgsqlTransaction?)s.Transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.AccountId });
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.Livemode });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.MeterId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.CustomerId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => Micros.From(r.Hour)).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.GroupKey).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Cell.Count).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Cell.Sum).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Cell.Min).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Cell.Max).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Cell.LatestValue).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => Micros.From(r.Cell.LatestAt)).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Overflowed).ToArray() });
            await command.ExecuteNonQueryAsync();
            return;
        }
        // SQLite: one prepared statement rebound per cell (RowWriter), not one json_each statement for all:
        // an upsert reads the stored cell anyway, and unpacking eleven values per row from JSON doubled the
        // cost (6.5 against 12–13 µs a cell, measured on a 600,000-event store; ~40 % of the roller's time).
        await RowWriter.ExecuteAsync(s, $"{insert} VALUES (@a, @l, @meter, @customer, @hour, @group, @count, @sum, @min, @max, @latest, @latestAt, @overflowed)\n{onConflict}",
            rows, r => [tenant.AccountId, tenant.Livemode, r.MeterId, r.CustomerId, Micros.From(r.Hour), r.GroupKey, r.Cell.Count, r.Cell.Sum, r.Cell.Min,
                r.Cell.Max, r.Cell.LatestValue, Micros.From(r.Cell.LatestAt), r.Overflowed]);
    }

    public async Task InsertUniqueValuesAsync(Tenant tenant, IReadOnlyList<UniqueValueRow> rows)
    {
        if (rows.Count == 0) return;
        const string insert = $"INSERT INTO meter_unique_values ({RollupKey}, value)";
        if (s.Native is NpgsqlConnection pg)
        {
            await s.SendHeldAsync();
            await using var command = new NpgsqlCommand(insert + "\n" + """
                SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[]) ON CONFLICT DO NOTHING
                """, pg, (NpgsqlTransaction?)s.Transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.AccountId });
            command.Parameters.Add(new NpgsqlParameter { Value = tenant.Livemode });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.MeterId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.CustomerId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => Micros.From(r.Hour)).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.GroupKey).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Value).ToArray() });
            await command.ExecuteNonQueryAsync();
            return;
        }
        // As the cells: one prepared statement rebound per row.
        await RowWriter.ExecuteAsync(s, $"{insert} VALUES (@a, @l, @meter, @customer, @hour, @group, @value) ON CONFLICT DO NOTHING",
            rows, r => [tenant.AccountId, tenant.Livemode, r.MeterId, r.CustomerId, Micros.From(r.Hour), r.GroupKey, r.Value]);
    }

    // ---- queries ------------------------------------------------------------------------------

    public async Task<IReadOnlyList<RollupRow>> LoadRollupsAsync(Tenant tenant, string meterId, string? customerId, DateTimeOffset from, DateTimeOffset to, int limit)
    {
        // Two texts rather than "(@c IS NULL OR customer_id = @c)": a generic plan for the latter cannot use the key's customer column.
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT meter_id, customer_id, hour, group_key, count, sum, min, max, latest, latest_at, overflowed FROM meter_rollups
            WHERE account_id = @AccountId AND livemode = @Livemode AND meter_id = @meterId{(customerId is null ? "" : " AND customer_id = @customerId")}
              AND hour >= @from AND hour < @to
            LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, meterId, customerId, from = Micros.From(from), to = Micros.From(to), limit }, s.Transaction);
        var list = new List<RollupRow>();
        while (await r.ReadAsync())
        {
            if (r.GetBoolean(10)) throw new QuantityOverflowException(QuantityOverflowException.WindowMessage);
            list.Add(new RollupRow(r.GetString(0), r.GetString(1), Micros.To(r.GetInt64(2)), r.GetString(3),
                RollupCell.FromStored(r.GetInt64(4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), Micros.To(r.GetInt64(9)))));
        }
        return list;
    }

    public Task<IReadOnlyList<BucketCell>> SumRollupsAsync(Tenant tenant, string meterId, string? customerId, DateTimeOffset from, DateTimeOffset to,
        long bucketMicros, int limit) =>
        OverflowChecked(() => SumRollupRowsAsync(tenant, meterId, customerId, from, to, bucketMicros, limit), QuantityOverflowException.WindowMessage);

    private async Task<IReadOnlyList<BucketCell>> SumRollupRowsAsync(Tenant tenant, string meterId, string? customerId, DateTimeOffset from, DateTimeOffset to,
        long bucketMicros, int limit)
    {
        // PostgreSQL's SUM(bigint) is numeric: cast back, so a total past 64 bits fails loudly instead of being read wrong.
        var total = s.Dialect.IsPostgres ? "::bigint" : "";
        // A cell marked overflowed holds no figures: the window it falls in has no 64-bit total.
        var overflowedAny = s.Dialect.IsPostgres ? "bool_or(overflowed)" : "max(overflowed)";
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT hour - hour % @bucket AS bucket, group_key, SUM(count){total}, SUM(sum){total}, MIN(min), MAX(max), {overflowedAny} FROM meter_rollups
            WHERE account_id = @AccountId AND livemode = @Livemode AND meter_id = @meterId{(customerId is null ? "" : " AND customer_id = @customerId")}
              AND hour >= @from AND hour < @to
            GROUP BY 1, 2
            LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, meterId, customerId, from = Micros.From(from), to = Micros.From(to), bucket = bucketMicros, limit },
            s.Transaction);
        var list = new List<BucketCell>();
        while (await r.ReadAsync())
        {
            if (r.GetBoolean(6)) throw new QuantityOverflowException(QuantityOverflowException.WindowMessage);
            list.Add(new BucketCell(Micros.To(r.GetInt64(0)), r.GetString(1),
                RollupCell.FromStored(r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), long.MinValue, DateTimeOffset.MinValue)));
        }
        return list;
    }

    public async Task<IReadOnlyList<BucketValue>> DistinctValuesAsync(Tenant tenant, string meterId, string? customerId, DateTimeOffset from, DateTimeOffset to,
        long bucketMicros, int limit)
    {
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT DISTINCT hour - hour % @bucket AS bucket, group_key, value FROM meter_unique_values
            WHERE account_id = @AccountId AND livemode = @Livemode AND meter_id = @meterId{(customerId is null ? "" : " AND customer_id = @customerId")}
              AND hour >= @from AND hour < @to
            LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, meterId, customerId, from = Micros.From(from), to = Micros.From(to), bucket = bucketMicros, limit },
            s.Transaction);
        var list = new List<BucketValue>();
        while (await r.ReadAsync()) list.Add(new BucketValue(Micros.To(r.GetInt64(0)), r.GetString(1), r.GetString(2)));
        return list;
    }

    public Task<IReadOnlyList<StoredMeterEvent>> ListEventsAsync(Tenant tenant, string? customerId, string? eventName, DateTimeOffset? from, DateTimeOffset? to,
        Cursor? after, int limit)
    {
        // The filter on the event columns, of the events table or (alias "i.") of the SQLite index's copies.
        string Where(string p)
        {
            var where = new StringBuilder($"{p}account_id = @AccountId AND {p}livemode = @Livemode");
            if (customerId is not null) where.Append($" AND {p}customer_id = @customerId");
            if (eventName is not null) where.Append($" AND {p}event_name = @eventName");
            if (from is not null) where.Append($" AND {p}ts >= @from");
            if (to is not null) where.Append($" AND {p}ts < @to");
            if (after is not null) where.Append($" AND ({p}ts, {p}id) < (@afterTs, @afterId)");
            return where.ToString();
        }
        var args = new
        {
            tenant.AccountId, tenant.Livemode, customerId, eventName, from = from is { } f ? Micros.From(f) : 0, to = to is { } t ? Micros.From(t) : 0,
            afterTs = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit, bucket = customerId is null ? 0 : EventRunBucket(customerId),
        };
        // The events' customer and time orders (meter_event_index by customer, meter_event_times across customers)
        // hold exactly the events behind a watermark — the roller's on PostgreSQL, the event indexer's on SQLite
        // (its own file) — and the ones at or above it are read by position. An event is in one part or the other,
        // never both (ADR 0006, "The event index", "The event index in its own file").
        if (s.Dialect.IsPostgres)
        {
            return IndexedAndUnrolledPostgres(w => $"""
                SELECT {IndexedEventColumns} FROM {(customerId is null ? "meter_event_times" : "meter_event_index")} i
                  JOIN meter_events e ON e.account_id = i.account_id AND e.livemode = i.livemode AND e.id = i.id
                WHERE {Where("i.")} AND (e.txid IS NULL OR e.txid < {w}) ORDER BY i.ts DESC, i.id DESC LIMIT @limit
                """, "", Where(""), "ts DESC, id DESC", new DynamicParameters(args));
        }
        // SQLite: one statement, so the watermark, the tables, the runs and the position bound are read at once.
        // A customer's entries behind the watermark are in the customer index or in one of the runs in front of it
        // (at most EventRunBuckets - 1, each looked up by its place in the list, in the customer's bucket).
        var runs = customerId is null ? "" : IndexRuns.EachListedRun("meter_event_run_list", run => $"""
              UNION ALL
              SELECT * FROM (SELECT {IndexedEventColumns} FROM meter_event_runs i CROSS JOIN meter_events e
                               ON e.account_id = i.account_id AND e.livemode = i.livemode AND e.id = i.id
                             WHERE i.run = {run} AND i.bucket = @bucket
                               AND {Where("i.")} ORDER BY i.ts DESC, i.id DESC LIMIT @limit)

            """);
        return QueryEvents($"""
            SELECT {EventColumns} FROM (
              SELECT * FROM (SELECT {IndexedEventColumns} FROM {(customerId is null ? "meter_event_times" : "meter_event_index")} i CROSS JOIN meter_events e
                               ON e.account_id = i.account_id AND e.livemode = i.livemode AND e.id = i.id
                             WHERE {Where("i.")} ORDER BY i.ts DESC, i.id DESC LIMIT @limit)
            {runs}  UNION ALL
              SELECT * FROM (SELECT {EventColumns} FROM meter_events INDEXED BY meter_events_by_seq
                             WHERE seq >= (SELECT watermark FROM meter_indexer WHERE id = 1) AND {Where("")} ORDER BY ts DESC, id DESC LIMIT @limit))
            ORDER BY ts DESC, id DESC LIMIT @limit
            """, args);
    }

    /// <summary>The event columns read through the index (SQLite): the key columns from the index, the rest from the event.</summary>
    private const string IndexedEventColumns = "i.id, i.event_name, i.customer_id, i.ts, e.properties, e.received_at";

    public Task<IReadOnlyList<StoredMeterEvent>> EventsInOrderAsync(Tenant tenant, string eventName, (DateTimeOffset At, string Id)? after, int limit,
        long? rolledBelow = null)
    {
        var args = new
        {
            tenant.AccountId, tenant.Livemode, eventName, afterTs = after is { } a ? Micros.From(a.At) : 0, afterId = after?.Id ?? "", limit,
            rolledBelow = rolledBelow ?? long.MaxValue,
        };
        var afterFilter = after is null ? "" : " AND (ts, id) > (@afterTs, @afterId)";
        if (s.Dialect.IsPostgres)
        {
            // The position bound in the walk too: a rebuild passes the watermark it holds, so the walk reads nothing.
            return IndexedAndUnrolledPostgres(w => $"""
                SELECT {IndexedEventColumns} FROM meter_event_times i
                  JOIN meter_events e ON e.account_id = i.account_id AND e.livemode = i.livemode AND e.id = i.id
                WHERE i.account_id = @AccountId AND i.livemode = @Livemode AND i.event_name = @eventName{(after is null ? "" : " AND (i.ts, i.id) > (@afterTs, @afterId)")}
                  AND (e.txid IS NULL OR e.txid < {w}) AND (e.txid IS NULL OR e.txid < @rolledBelow)
                ORDER BY i.ts, i.id LIMIT @limit
                """, " AND txid < @rolledBelow", $"account_id = @AccountId AND livemode = @Livemode AND event_name = @eventName{afterFilter}", "ts, id",
                new DynamicParameters(args));
        }
        // SQLite: the indexed events (behind the indexer's watermark) in time order, and those at or above it by
        // position; both below rolledBelow (a rebuild passes the roller's watermark, which the indexer's may be past).
        return QueryEvents($"""
            SELECT {EventColumns} FROM (
              SELECT * FROM (SELECT {IndexedEventColumns} FROM meter_event_times i CROSS JOIN meter_events e
                               ON e.account_id = i.account_id AND e.livemode = i.livemode AND e.id = i.id
                             WHERE i.account_id = @AccountId AND i.livemode = @Livemode AND i.event_name = @eventName{(after is null ? "" : " AND (i.ts, i.id) > (@afterTs, @afterId)")}
                               AND (e.seq IS NULL OR e.seq < @rolledBelow)
                             ORDER BY i.ts, i.id LIMIT @limit)
              UNION ALL
              SELECT * FROM (SELECT {EventColumns} FROM meter_events INDEXED BY meter_events_by_seq
                             WHERE seq >= (SELECT watermark FROM meter_indexer WHERE id = 1) AND seq < @rolledBelow
                               AND account_id = @AccountId AND livemode = @Livemode AND event_name = @eventName{afterFilter}
                             ORDER BY ts, id LIMIT @limit))
            ORDER BY ts, id LIMIT @limit
            """, args);
    }

    /// <summary>
    /// PostgreSQL's read of the events in one order: the indexed ones (<paramref name="indexed"/>, given the
    /// watermark's SQL, with its own ORDER BY and LIMIT) beside those at or above the watermark filtered by
    /// <paramref name="filter"/>. Those are few while the roller keeps up, and are walked through the position
    /// index (at most <see cref="UnrolledScanMax"/>, a LIMIT being a fence no planner pushes a filter into: a
    /// generic plan that filtered the whole table by account read every event; see <see cref="UnrolledEventsAsync"/>).
    /// When more are behind, a second statement filters them by the watermark the first one read, which the
    /// indexed part is then bound by too: an event below it was in the index before the watermark passed it,
    /// and one at or above it is read by position, so each event is read once although the two statements see
    /// different moments.
    /// </summary>
    private async Task<IReadOnlyList<StoredMeterEvent>> IndexedAndUnrolledPostgres(Func<string, string> indexed, string walkBound, string filter,
        string order, DynamicParameters args)
    {
        args.Add("scanMax", UnrolledScanMax);
        var list = new List<StoredMeterEvent>();
        long walked = 0, watermark = 0;
        await using (var r = await s.Connection.ExecuteReaderAsync($"""
            WITH w AS MATERIALIZED (SELECT watermark FROM meter_roller WHERE id = 1),
            walked AS MATERIALIZED (
              SELECT {EventColumns}, account_id, livemode FROM meter_events WHERE txid >= (SELECT watermark FROM w){walkBound} ORDER BY txid LIMIT @scanMax)
            SELECT n.walked, n.watermark, x.* FROM (SELECT (SELECT count(*) FROM walked) AS walked, (SELECT watermark FROM w) AS watermark) n
            LEFT JOIN (
              SELECT * FROM ({indexed("(SELECT watermark FROM w)")}) a
              UNION ALL
              SELECT * FROM (SELECT {EventColumns} FROM walked WHERE {filter} ORDER BY {order} LIMIT @limit) b
              ORDER BY {order} LIMIT @limit) x ON true
            ORDER BY {string.Join(", ", order.Split(", ").Select(o => "x." + o))}
            """, args, s.Transaction))
        {
            while (await r.ReadAsync())
            {
                walked = r.GetInt64(0);
                watermark = r.GetInt64(1);
                if (!r.IsDBNull(2)) list.Add(EventAt(r, 2));
            }
        }
        if (walked < UnrolledScanMax) return list;
        args.Add("watermark", watermark);
        return await QueryEvents($"""
            SELECT {EventColumns} FROM (
              SELECT * FROM ({indexed("@watermark")}) a
              UNION ALL
              SELECT * FROM (SELECT {EventColumns} FROM meter_events WHERE txid >= @watermark{walkBound} AND {filter} ORDER BY {order} LIMIT @limit) b) x
            ORDER BY {order} LIMIT @limit
            """, args);
    }

    private static StoredMeterEvent EventAt(DbDataReader r, int first) =>
        new(r.GetString(first), r.GetString(first + 1), r.GetString(first + 2), Micros.To(r.GetInt64(first + 3)), r.GetString(first + 4),
            Micros.To(r.GetInt64(first + 5)));

    private async Task<IReadOnlyList<StoredMeterEvent>> QueryEvents(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<StoredMeterEvent>();
        while (await r.ReadAsync()) list.Add(EventAt(r, 0));
        return list;
    }

    public async Task DeleteRollupsAsync(Tenant tenant, string meterId)
    {
        await s.Connection.ExecuteAsync("DELETE FROM meter_rollups WHERE account_id = @AccountId AND livemode = @Livemode AND meter_id = @meterId",
            new { tenant.AccountId, tenant.Livemode, meterId }, s.Transaction);
        await s.Connection.ExecuteAsync("DELETE FROM meter_unique_values WHERE account_id = @AccountId AND livemode = @Livemode AND meter_id = @meterId",
            new { tenant.AccountId, tenant.Livemode, meterId }, s.Transaction);
    }

    // ---- the roller (ADR 0006) -----------------------------------------------------------------

    /// <summary>
    /// An event's position: on SQLite the <c>seq</c> its (single) writer gave it; on PostgreSQL the id of
    /// the transaction that wrote it (see <see cref="NextRollChunkAsync"/>). NULL for events stored before
    /// the roller existed, which ingest had already folded.
    /// </summary>
    private string Position => s.Dialect.IsPostgres ? "txid" : "seq";

    /// <summary>
    /// Locks the watermark row. SQLite has no row locks: a no-op update of the row takes the rollups file's
    /// write lock, first thing in the roller's deferred transaction (SqliteStore.WriteRollupsAsync), so a
    /// roll never has to upgrade a read to a write later.
    /// </summary>
    public Task<long> LockRollerAsync() =>
        s.Connection.ExecuteScalarAsync<long>(s.Dialect.IsPostgres
            ? "SELECT watermark FROM meter_roller WHERE id = 1 FOR UPDATE"
            : "UPDATE meter_roller SET watermark = watermark WHERE id = 1 RETURNING watermark", transaction: s.Transaction);

    public Task<long> ReadWatermarkAsync() =>
        s.Connection.ExecuteScalarAsync<long>("SELECT watermark FROM meter_roller WHERE id = 1", transaction: s.Transaction);

    public async Task<RollChunk> NextRollChunkAsync(long watermark, int eventsMax)
    {
        // The first position not to take this time. SQLite: the end of the table as this read sees it. The
        // main file's one writer numbers each transaction's rows above every stored position, so positions
        // follow commit order: every position below the highest one seen is committed and none can be added
        // below it later, even though ingest commits beside the roll (the rollups have their own file and
        // lock, ADR 0006). The bound and the rows are read by one statement, so a commit after it lies above them.
        // PostgreSQL: the xmin of a snapshot taken now,
        // after the watermark row was locked. Every transaction with a lower id has ended, so no row with
        // txid < xmin can still appear or vanish, however the transactions interleaved and whatever order
        // they committed in; a transaction still open has txid >= xmin and is taken by a later roll.
        // (xmin never decreases: a transaction running at a later snapshot either ran at the earlier one,
        // so counted in its xmin, or got its id after it, above it.)
        var final = s.Dialect.IsPostgres
            ? await s.Connection.ExecuteScalarAsync<long>("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", transaction: s.Transaction)
            : long.MaxValue;
        // Bound the chunk at the position of the (eventsMax + 1)-th event, read with the events themselves in one
        // ordered walk of the position index (a separate OFFSET walk to find the bound first took ~165 ms of a
        // 20,000-event roll on PostgreSQL, whose index scans visit every row's heap tuple). On PostgreSQL one
        // transaction's events share a position and are never split: when it alone has more, it is taken whole
        // (ingest commits at most IngestQueue.EventsPerCommitMax events, plus one request).
        // PostgreSQL plans that read by its statistics, which lag a table filled this fast (a fresh one has none: a
        // range is guessed at 0.5 % of the rows) and cannot see that the LIMIT stops the walk early: it chose a
        // bitmap scan of every event behind the watermark and a sort, 600 ms a roll with 750,000 behind, against
        // 10 ms for the walk of the position index. The walk is the only plan left for this one statement.
        if (s.Dialect.IsPostgres)
            await s.Connection.ExecuteAsync("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off", transaction: s.Transaction);
        var events = new EventPass();
        try
        {
            await ChunkRowsAsync(events, $"{Position} >= @watermark AND {Position} < @final ORDER BY {Position} LIMIT @take",
                new { watermark, final, take = eventsMax + 1 });
            if (s.Dialect.IsPostgres)
            {
                await s.Connection.ExecuteAsync("SET LOCAL enable_bitmapscan TO DEFAULT; SET LOCAL enable_seqscan TO DEFAULT; SET LOCAL enable_sort TO DEFAULT",
                    transaction: s.Transaction);
            }
            long upper;
            if (events.Count > eventsMax)
            {
                var cut = events[events.Count - 1].Position;
                if (events[0].Position < cut)
                {
                    // The rows come in position order: those at the cut are the last ones.
                    var keep = events.Count;
                    while (events[keep - 1].Position >= cut) keep--;
                    events.Truncate(keep);
                }
                else
                {
                    // The first position alone holds more than eventsMax: all of it now, rather than an empty roll first.
                    events.Truncate(0);
                    await ChunkRowsAsync(events, $"{Position} = @cut", new { cut });
                }
                upper = events[events.Count - 1].Position + 1;
            }
            else if (s.Dialect.IsPostgres) upper = Math.Max(final, watermark);
            else upper = events.Count == 0 ? watermark : events[events.Count - 1].Position + 1;
            return new RollChunk(upper, events);
        }
        catch
        {
            events.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads a roll's events into <paramref name="events"/>, each row's own text its properties; the event ids are not
    /// read (a roll folds by customer and time), and each row's strings are dropped once copied into the pass.
    /// </summary>
    private async Task ChunkRowsAsync(EventPass events, string where, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(
            $"SELECT {Position}, account_id, livemode, event_name, customer_id, ts, received_at, properties FROM meter_events WHERE {where}", args, s.Transaction);
        while (await r.ReadAsync())
            events.Add(r.GetInt64(0), r.GetString(1), r.GetBoolean(2), r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetInt64(6), r.GetString(7));
    }

    /// <summary>
    /// PostgreSQL: the rolled events' customer and time orders, written by the roll beside its cells (ADR 0006, "The
    /// event index"), so the ingest transaction writes the events and their dedupe key only; copied inside the
    /// database, each table in its own key order (the insert then walks its pages once, left to right). SQLite's
    /// indexer writes them in a file of its own instead (<see cref="IndexEventsAsync"/>).
    /// </summary>
    public async Task<bool> IndexRolledEventsAsync(long watermark, long upper)
    {
        if (!s.Dialect.IsPostgres) return false;
        // No ON CONFLICT: an event is indexed by the one roll that moves the watermark past it (the watermark row is
        // locked), so a key already there would mean a roll repeated — better refused than skipped. The speculative
        // insertion ON CONFLICT needs cost 40 % more (100,000 events: 1,035 against 651 ms, 912 against 548 ms).
        await s.Connection.ExecuteAsync("""
            INSERT INTO meter_event_index (account_id, livemode, customer_id, ts, id, event_name)
              SELECT account_id, livemode, customer_id, ts, id, event_name FROM meter_events WHERE txid >= @watermark AND txid < @upper
              ORDER BY account_id, livemode, customer_id, ts, id
            """, new { watermark, upper }, s.Transaction);
        await s.Connection.ExecuteAsync("""
            INSERT INTO meter_event_times (account_id, livemode, ts, id, customer_id, event_name)
              SELECT account_id, livemode, ts, id, customer_id, event_name FROM meter_events WHERE txid >= @watermark AND txid < @upper
              ORDER BY account_id, livemode, ts, id
            """, new { watermark, upper }, s.Transaction);
        return true;
    }

    /// <summary>
    /// SQLite's indexer, its read (ADR 0006, "The event index in its own file"), in a read session: the indexer's
    /// watermark and the committed events at or above it, in position order, at most <paramref name="eventsMax"/>.
    /// Outside the index file's write transaction, so no snapshot of the main file is held through the pass's writes
    /// and fsync wait (which would keep the main file's checkpointer from rewinding its WAL, as for the roller).
    /// </summary>
    public async Task<EventsToIndex> ReadEventsToIndexAsync(int eventsMax)
    {
        if (s.Dialect.IsPostgres) throw new NotSupportedException("PostgreSQL indexes the events in each roll (IndexRolledEventsAsync)");
        var watermark = await s.Connection.ExecuteScalarAsync<long>("SELECT watermark FROM meter_indexer WHERE id = 1", transaction: s.Transaction);
        // Positions follow commit order on SQLite (see NextRollChunkAsync): every position this read sees is final.
        var events = new EventPass();
        try
        {
            await using (var r = await s.Connection.ExecuteReaderAsync("""
                SELECT seq, account_id, livemode, customer_id, ts, id, event_name FROM meter_events INDEXED BY meter_events_by_seq
                WHERE seq >= @watermark ORDER BY seq LIMIT @eventsMax
                """, new { watermark, eventsMax }, s.Transaction))
            {
                while (await r.ReadAsync())
                    events.Add(r.GetInt64(0), r.GetString(1), r.GetBoolean(2), r.GetString(6), r.GetString(3), r.GetInt64(4), 0, r.GetString(5));
            }
            return new EventsToIndex(watermark, events.Count == 0 ? watermark : events[events.Count - 1].Position + 1, events);
        }
        catch
        {
            events.Dispose();
            throw;
        }
    }

    /// <summary>
    /// SQLite's indexer, its write, in the index file's write transaction: the events read into the time order and
    /// into a run in front of the customer order (one bucket of customers moved from every run into it), and the
    /// watermark moved past them — unless another pass moved it since the read (nothing written then).
    /// </summary>
    public async Task<IndexPass> IndexEventsAsync(EventsToIndex read, DateTimeOffset now)
    {
        // The watermark row written first: it takes the index file's write lock at once (a deferred transaction,
        // SqliteStore.WriteEventIndexAsync), and the pass's number with it.
        var (watermark, pass) = await s.Connection.QuerySingleAsync<(long, long)>(
            "UPDATE meter_indexer SET passes = passes WHERE id = 1 RETURNING watermark, passes", transaction: s.Transaction);
        if (watermark != read.Watermark || read.Events.Count == 0) return new IndexPass(0, watermark);
        var events = read.Events;
        // Every text of the pass ranked once in ordinal order, so the sorts compare numbers (a rank compares as its
        // string does); customers' buckets found once per customer.
        var ranks = events.TextRanks();
        var tenantRanks = events.TenantRanks();
        // By text number (ranks has one place per text), -1 until found: read in every comparison of the run's sort.
        var buckets = new int[ranks.Length];
        Array.Fill(buckets, -1);
        var order = ArrayPool<int>.Shared.Rent(events.Count);
        try
        {
            for (var i = 0; i < events.Count; i++)
            {
                order[i] = i;
                var customer = events[i].Customer;
                if (buckets[customer] < 0) buckets[customer] = EventRunBucket(events.Text(customer));
            }
            var rows = new ArraySegment<int>(order, 0, events.Count);
            // Both orders end with the time and then the id (compared as chars: ordinal, as string.CompareOrdinal).
            int TimeThenId(in EventPass.Row a, in EventPass.Row b) =>
                a.TsMicros.CompareTo(b.TsMicros) is var c and not 0 ? c : events.OwnText(a).SequenceCompareTo(events.OwnText(b));
            // The time order, in its key order so the insert walks its pages once, left to right.
            rows.AsSpan().Sort((x, y) =>
            {
                ref readonly var a = ref events[x];
                ref readonly var b = ref events[y];
                var c = tenantRanks[a.Tenant].CompareTo(tenantRanks[b.Tenant]);
                return c != 0 ? c : TimeThenId(a, b);
            });
            await RowWriter.ExecuteAsync(s, """
                INSERT INTO meter_event_times (account_id, livemode, ts, id, customer_id, event_name)
                  VALUES (@a, @l, @ts, @id, @customer, @name) ON CONFLICT DO NOTHING
                """, rows, i =>
                {
                    ref readonly var e = ref events[i];
                    var tenant = events.Tenants[e.Tenant];
                    return [tenant.AccountId, tenant.Livemode, e.TsMicros, new string(events.OwnText(e)), events.Text(e.Customer), events.Text(e.EventName)];
                });
            // The run, in its key order.
            rows.AsSpan().Sort((x, y) =>
            {
                ref readonly var a = ref events[x];
                ref readonly var b = ref events[y];
                var c = buckets[a.Customer].CompareTo(buckets[b.Customer]);
                if (c == 0) c = tenantRanks[a.Tenant].CompareTo(tenantRanks[b.Tenant]);
                if (c == 0) c = ranks[a.Customer].CompareTo(ranks[b.Customer]);
                return c != 0 ? c : TimeThenId(a, b);
            });
            await RowWriter.ExecuteAsync(s, """
                INSERT INTO meter_event_runs (run, bucket, account_id, livemode, customer_id, ts, id, event_name)
                  VALUES (@run, @bucket, @a, @l, @customer, @ts, @id, @name) ON CONFLICT DO NOTHING
                """, rows, i =>
                {
                    ref readonly var e = ref events[i];
                    var tenant = events.Tenants[e.Tenant];
                    return [watermark, buckets[e.Customer], tenant.AccountId, tenant.Livemode, events.Text(e.Customer), e.TsMicros, new string(events.OwnText(e)),
                        events.Text(e.EventName)];
                });
        }
        finally
        {
            ArrayPool<int>.Shared.Return(order);
        }
        var moving = (int)(pass % EventRunBuckets);
        // The move and the list's upkeep (IndexRuns.MoveSql), with the watermark.
        await s.Connection.ExecuteAsync($"""
            {EventMoveSql}
            UPDATE meter_indexer SET watermark = @upper, passes = passes + 1, indexed_events = indexed_events + @events, updated_at = @now WHERE id = 1;
            """, new { watermark, pass, moving, upper = read.Upper, events = events.Count, now = Micros.From(now) }, s.Transaction);
        return new IndexPass(events.Count, read.Upper);
    }

    private static readonly string EventMoveSql = IndexRuns.MoveSql("meter_event_index", "meter_event_runs", "meter_event_run_list",
        ["account_id", "livemode", "customer_id", "ts", "id"], ["account_id", "livemode", "customer_id", "ts", "id", "event_name"], skipExisting: true);

    /// <summary>SQLite: buckets of customers the event runs are moved by (<see cref="IndexRuns.Buckets"/>).</summary>
    public const int EventRunBuckets = IndexRuns.Buckets;

    /// <summary>A customer's bucket in the event runs (<see cref="IndexRuns.Bucket"/>).</summary>
    public static int EventRunBucket(string customerId) => IndexRuns.Bucket(customerId);

    public Task AdvanceRollerAsync(long watermark, DateTimeOffset? rolledThrough, long events, DateTimeOffset now) =>
        s.Connection.ExecuteAsync($"""
            UPDATE meter_roller SET watermark = @watermark, rolled_events = rolled_events + @events, updated_at = @now,
              rolled_through = CASE WHEN @hasThrough = 1 AND (rolled_through IS NULL OR rolled_through < @through) THEN @through ELSE rolled_through END
            WHERE id = 1
            """, new { watermark, events, now = Micros.From(now), hasThrough = rolledThrough is null ? 0 : 1, through = rolledThrough is { } t ? Micros.From(t) : 0 },
            s.Transaction);

    /// <summary>
    /// Positions the unrolled-events read walks in order before it gives up on that plan. The roller runs
    /// every 250 ms, so its lag is normally a few thousand events; this many index entries are a few
    /// milliseconds to walk.
    /// </summary>
    public const int UnrolledScanMax = 16_384;

    public async Task<IReadOnlyList<StoredMeterEvent>> UnrolledEventsAsync(Tenant tenant, string? customerId, string eventName, long watermark,
        DateTimeOffset from, DateTimeOffset to, int limit)
    {
        // The events behind the roller are few (its lag), whatever the range and however many events the
        // customer has, so they are read through the position index. Neither planner sees that from the
        // statistics: a generic plan, or one made before the table was analyzed, took the customer index
        // and filtered all of the customer's events by position (7 ms for 1,000 events against 0.1 ms;
        // at 10M events usage p99 went from 10 to 100 ms). A LIMIT in a subquery is a fence in both
        // engines (no filter is pushed into it), and "ORDER BY position LIMIT n" is only cheap through the
        // position index, so the walk is forced whatever the estimates. The outer count says whether the
        // walk reached every unrolled event; when the lag is longer, the filtered query below is exact.
        var args = new
        {
            watermark, tenant.AccountId, tenant.Livemode, eventName, customerId, from = Micros.From(from), to = Micros.From(to), limit,
            scanMax = UnrolledScanMax,
        };
        var filter = $"account_id = @AccountId AND livemode = @Livemode AND event_name = @eventName{(customerId is null ? "" : " AND customer_id = @customerId")} AND ts >= @from AND ts < @to";
        await using (var r = await s.Connection.ExecuteReaderAsync($"""
            WITH walked AS MATERIALIZED (
              SELECT account_id, livemode, {EventColumns} FROM meter_events WHERE {Position} >= @watermark ORDER BY {Position} LIMIT @scanMax
            )
            SELECT n.walked, e.id, e.event_name, e.customer_id, e.ts, e.properties, e.received_at
            FROM (SELECT count(*) AS walked FROM walked) n
            LEFT JOIN (SELECT {EventColumns} FROM walked WHERE {filter} LIMIT @limit) e ON 1 = 1
            """, args, s.Transaction))
        {
            var list = new List<StoredMeterEvent>();
            var walked = 0L;
            while (await r.ReadAsync())
            {
                walked = r.GetInt64(0);
                if (r.IsDBNull(1)) continue;
                list.Add(EventAt(r, 1));
            }
            if (walked < UnrolledScanMax) return list;
        }
        // The events have no customer or time index (the roller's event index covers only what is behind the
        // watermark): the walk continues by position (forced on SQLite; on PostgreSQL the position index is the
        // only one that narrows a range of positions).
        return await QueryEvents($"SELECT {EventColumns} FROM meter_events{(s.Dialect.IsPostgres ? "" : " INDEXED BY meter_events_by_seq")} WHERE {Position} >= @watermark AND {filter} LIMIT @limit", args);
    }

    /// <summary>Rows read at each end of the position index for the oldest and newest receipt behind the roller.</summary>
    private const int StatusEndRows = 1_000;

    public async Task<RollerStatus> RollerStatusAsync(int countMax)
    {
        var row = await s.Connection.QuerySingleAsync<(long Watermark, long? RolledThrough, long RolledEvents, long UpdatedAt)>(
            "SELECT watermark, rolled_through, rolled_events, updated_at FROM meter_roller WHERE id = 1", transaction: s.Transaction);
        var count = await s.Connection.ExecuteScalarAsync<long>($"""
            SELECT count(*) FROM (SELECT 1 FROM meter_events WHERE {Position} >= @watermark LIMIT @countMax) b
            """, new { watermark = row.Watermark, countMax }, s.Transaction);
        // The oldest and newest receipts behind are read at the two ends of the position index, not from the
        // rows counted: with more behind than countMax, those are an arbitrary sample, and a lag computed
        // from them said 6 s while the roller was 10 minutes behind. Positions follow receipt closely (a
        // transaction's id is taken at its first write), so the ends' few rows hold the extremes.
        var ends = count == 0 ? default : await s.Connection.QuerySingleAsync<(long? Oldest, long? Newest)>($"""
            SELECT (SELECT min(received_at) FROM (SELECT received_at FROM meter_events WHERE {Position} >= @watermark ORDER BY {Position} LIMIT @endRows) o),
                   (SELECT max(received_at) FROM (SELECT received_at FROM meter_events WHERE {Position} >= @watermark ORDER BY {Position} DESC LIMIT @endRows) n)
            """, new { watermark = row.Watermark, endRows = StatusEndRows }, s.Transaction);
        return new RollerStatus(row.Watermark, count, count >= countMax, row.RolledThrough is { } t ? Micros.To(t) : null,
            ends.Oldest is { } o ? Micros.To(o) : null, ends.Newest is { } n ? Micros.To(n) : null, row.RolledEvents,
            row.UpdatedAt == 0 ? null : Micros.To(row.UpdatedAt));
    }

    public async Task<TimeSpan> IndexerLagAsync()
    {
        if (s.Dialect.IsPostgres) throw new NotSupportedException("PostgreSQL indexes the events in each roll (IndexRolledEventsAsync)");
        // As RollerStatusAsync reads its ends: a few rows at each end of the position index past the watermark.
        var ends = await s.Connection.QuerySingleAsync<(long? Oldest, long? Newest)>("""
            SELECT (SELECT min(received_at) FROM (SELECT received_at FROM meter_events WHERE seq >= (SELECT watermark FROM meter_indexer WHERE id = 1)
                                                  ORDER BY seq LIMIT @endRows) o),
                   (SELECT max(received_at) FROM (SELECT received_at FROM meter_events WHERE seq >= (SELECT watermark FROM meter_indexer WHERE id = 1)
                                                  ORDER BY seq DESC LIMIT @endRows) n)
            """, new { endRows = StatusEndRows }, s.Transaction);
        return ends is { Oldest: { } o, Newest: { } n } && n > o ? Micros.To(n) - Micros.To(o) : TimeSpan.Zero;
    }

    private string In(string column, string parameter, IReadOnlyCollection<string> values) => s.In(column, parameter, values);
    private object List(IReadOnlyCollection<string> values) => s.List(values);
}
