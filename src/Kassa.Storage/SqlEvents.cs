using System.Data.Common;
using System.Text.Json;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlEvents(SqlSession s) : IEventStore
{
    private const string Columns = "account_id, livemode, id, type, object_type, object_id, data, request_id, created_at, seq";
    // Any constant: the same on every node sharing the database.
    private const long DispatchLockKey = 0x4B61737361_01;

    // Written with the transaction's other append-only rows just before it commits (PendingRows).
    public Task AppendAsync(EventRecord e) => s.Pending.AddAsync(s, e);

    public async Task<EventRecord?> GetAsync(Tenant tenant, string id) =>
        (await Query($"SELECT {Columns} FROM events WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public Task<IReadOnlyList<EventRecord>> ListAsync(Tenant tenant, EventFilter filter, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM events
            WHERE account_id = @AccountId AND livemode = @Livemode
              AND (@type IS NULL OR type = @type)
              AND (@objectId IS NULL OR object_id = @objectId)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """,
            new { tenant.AccountId, tenant.Livemode, type = filter.Type, objectId = filter.ObjectId, hasCursor = after is null ? 0 : 1,
                afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public async Task<bool> TryLockDispatchAsync() =>
        !s.Dialect.IsPostgres ||
        await s.Connection.ExecuteScalarAsync<bool>("SELECT pg_try_advisory_xact_lock(@key)", new { key = DispatchLockKey }, s.Transaction);

    // event_queue holds the seq of every event not yet dispatched (filled by a trigger on events, migration event_queue).
    // On PostgreSQL the queued seqs are looked up one by one (= ANY of an array the subquery fills first). Written
    // as IN (subquery), the planner merged the queue with the events' primary key from its first row: the queued
    // events are the newest, so every dispatch read the whole table through the index (63 ms a call with 40,000
    // events, a fifth of a core under mutation load). SQLite looks each seq up by rowid either way.
    public async Task<IReadOnlyList<QueuedEvent>> UndispatchedAsync(int limit)
    {
        await s.FlushAsync();
        await using var r = await s.Connection.ExecuteReaderAsync(s.Dialect.IsPostgres
            ? $"SELECT {QueuedColumns} FROM events WHERE seq = ANY(ARRAY(SELECT seq FROM event_queue ORDER BY seq LIMIT @limit)) ORDER BY seq"
            : $"SELECT {QueuedColumns} FROM events WHERE seq IN (SELECT seq FROM event_queue ORDER BY seq LIMIT @limit) ORDER BY seq", new { limit }, s.Transaction);
        var list = new List<QueuedEvent>();
        while (await r.ReadAsync())
            list.Add(new QueuedEvent(r.GetInt64(0), r.GetString(1), r.GetBoolean(2), r.GetString(3), r.GetString(4), r.GetString(5), Micros.To(r.GetInt64(6))));
        return list;
    }

    private const string QueuedColumns = "seq, account_id, livemode, id, type, object_id, created_at";

    public async Task MarkDispatchedAsync(IReadOnlyList<long> seqs)
    {
        await s.FlushAsync();
        // One statement text whatever the count (Dapper's IN @list would write one placeholder per element:
        // a new text, and a new prepared statement, for every batch size).
        // A delete from the small queue, not an update of events (whose flag rewrote a row and five index entries an event).
        await (s.Dialect.IsPostgres
            ? s.Connection.ExecuteAsync("DELETE FROM event_queue WHERE seq = ANY(@seqs)", new { seqs = seqs.ToArray() }, s.Transaction)
            : s.Connection.ExecuteAsync("DELETE FROM event_queue WHERE seq IN (SELECT value FROM json_each(@seqs))",
                new { seqs = JsonSerializer.Serialize(seqs) }, s.Transaction));
    }

    private async Task<IReadOnlyList<EventRecord>> Query(string sql, object args)
    {
        await s.FlushAsync();
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<EventRecord>();
        while (await r.ReadAsync()) list.Add(Read(r, 0));
        return list;
    }

    internal static EventRecord Read(DbDataReader r, int o) =>
        new(r.GetString(o), r.GetBoolean(o + 1), r.GetString(o + 2), r.GetString(o + 3), r.GetString(o + 4), r.GetString(o + 5), r.GetString(o + 6),
            r.IsDBNull(o + 7) ? null : r.GetString(o + 7), Micros.To(r.GetInt64(o + 8)), r.GetInt64(o + 9));
}

internal sealed class SqlWebhooks(SqlSession s) : IWebhookStore
{
    private const string EndpointColumns =
        "account_id, livemode, id, url, description, events, secret, previous_secret, previous_secret_expires_at, disabled, disabled_reason, failing_since, deleted_at, created_at, updated_at";

    public Task InsertEndpointAsync(WebhookEndpointRecord e) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO webhook_endpoints ({EndpointColumns})
            VALUES (@AccountId, @Livemode, @Id, @Url, @Description, @events, @Secret, @PreviousSecret, @previousExpires, @Disabled, @DisabledReason,
                    @failingSince, @deleted, @created, @updated)
            """, Args(e), s.Transaction);

    public async Task<WebhookEndpointRecord?> GetEndpointAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await QueryEndpoints(
            $"SELECT {EndpointColumns} FROM webhook_endpoints WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id AND deleted_at IS NULL" +
            (forUpdate ? s.Dialect.ForUpdate : ""),
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public Task UpdateEndpointAsync(WebhookEndpointRecord e) =>
        s.Connection.ExecuteAsync("""
            UPDATE webhook_endpoints SET url = @Url, description = @Description, events = @events, secret = @Secret, previous_secret = @PreviousSecret,
                previous_secret_expires_at = @previousExpires, disabled = @Disabled, disabled_reason = @DisabledReason, failing_since = @failingSince,
                deleted_at = @deleted, updated_at = @updated
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, Args(e), s.Transaction);

    public Task<IReadOnlyList<WebhookEndpointRecord>> ListEndpointsAsync(Tenant tenant, Cursor? after, int limit) =>
        QueryEndpoints($"""
            SELECT {EndpointColumns} FROM webhook_endpoints
            WHERE account_id = @AccountId AND livemode = @Livemode AND deleted_at IS NULL
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public Task<IReadOnlyList<WebhookEndpointRecord>> EnabledEndpointsAsync(Tenant tenant, int limit) =>
        QueryEndpoints($"""
            SELECT {EndpointColumns} FROM webhook_endpoints
            WHERE account_id = @AccountId AND livemode = @Livemode AND deleted_at IS NULL AND {s.Dialect.IsFalse("disabled")}
            ORDER BY created_at, id LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, no = false, limit });

    public Task EnqueueAsync(Tenant tenant, string endpointId, QueuedEvent e, DateTimeOffset now) =>
        s.Connection.ExecuteAsync("""
            INSERT INTO webhook_queue (account_id, livemode, endpoint_id, event_id, event_seq, object_id, state, attempts, next_attempt_at, locked_until, lease, created_at)
            VALUES (@AccountId, @Livemode, @endpointId, @eventId, @seq, @objectId, 'pending', 0, @now, 0, NULL, @now)
            """, new { tenant.AccountId, tenant.Livemode, endpointId, eventId = e.Id, seq = e.Seq, objectId = e.ObjectId, now = Micros.From(now) }, s.Transaction);

    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimDueAsync(DateTimeOffset now, TimeSpan lease, int limit, string leaseToken)
    {
        await s.FlushAsync();
        var nowMicros = Micros.From(now);
        // A row is due when its time has come, no worker holds it, its endpoint is enabled, and no
        // earlier event of the same object waits for the same endpoint (delivery in order per object).
        // The outer conditional update makes the claim safe when two workers pick the same rows.
        await s.Connection.ExecuteAsync($"""
            UPDATE webhook_queue SET lease = @leaseToken, locked_until = @lockedUntil
            WHERE id IN (
              SELECT q.id FROM webhook_queue q
              JOIN webhook_endpoints w ON w.account_id = q.account_id AND w.livemode = q.livemode AND w.id = q.endpoint_id
              WHERE q.state = 'pending' AND q.next_attempt_at <= @now AND q.locked_until <= @now
                AND {s.Dialect.IsFalse("w.disabled")} AND w.deleted_at IS NULL
                AND NOT EXISTS (
                  SELECT 1 FROM webhook_queue p
                  WHERE p.endpoint_id = q.endpoint_id AND p.object_id = q.object_id AND p.state = 'pending' AND p.event_seq < q.event_seq)
              ORDER BY q.next_attempt_at, q.event_seq
              LIMIT @limit{(s.Dialect.IsPostgres ? " FOR UPDATE OF q SKIP LOCKED" : "")})
              AND state = 'pending' AND locked_until <= @now
            """, new { leaseToken, lockedUntil = Micros.From(now + lease), now = nowMicros, no = false, limit }, s.Transaction);

        await using var r = await s.Connection.ExecuteReaderAsync("""
            SELECT q.id, q.endpoint_id, q.attempts, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, w.failing_since,
                   e.account_id, e.livemode, e.id, e.type, e.object_type, e.object_id, e.data, e.request_id, e.created_at, e.seq
            FROM webhook_queue q
            JOIN webhook_endpoints w ON w.account_id = q.account_id AND w.livemode = q.livemode AND w.id = q.endpoint_id
            JOIN events e ON e.account_id = q.account_id AND e.livemode = q.livemode AND e.id = q.event_id
            WHERE q.lease = @leaseToken AND q.state = 'pending'
            ORDER BY q.event_seq
            """, new { leaseToken }, s.Transaction);
        var claimed = new List<ClaimedDelivery>();
        while (await r.ReadAsync())
        {
            var e = SqlEvents.Read(r, 8);
            claimed.Add(new ClaimedDelivery(r.GetInt64(0), e.AccountId, e.Livemode, r.GetString(1), e.Id, e.Type, leaseToken, r.GetInt32(2),
                r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : Micros.To(r.GetInt64(6)),
                r.IsDBNull(7) ? null : Micros.To(r.GetInt64(7)), e));
        }
        return claimed;
    }

    public async Task<bool> CompleteAttemptAsync(long queueId, string lease, string state, int attempts, DateTimeOffset nextAttemptAt) =>
        await s.Connection.ExecuteAsync("""
            UPDATE webhook_queue SET state = @state, attempts = @attempts, next_attempt_at = @next, locked_until = 0, lease = NULL
            WHERE id = @queueId AND lease = @lease
            """, new { queueId, lease, state, attempts, next = Micros.From(nextAttemptAt) }, s.Transaction) == 1;

    public Task AppendAttemptAsync(WebhookAttemptRecord a) =>
        s.Connection.ExecuteAsync("""
            INSERT INTO webhook_attempts (account_id, livemode, id, endpoint_id, event_id, event_type, attempt, status_code, duration_ms, error, succeeded, next_retry_at, created_at)
            VALUES (@AccountId, @Livemode, @Id, @EndpointId, @EventId, @EventType, @Attempt, @StatusCode, @DurationMs, @Error, @Succeeded, @next, @created)
            """, new { a.AccountId, a.Livemode, a.Id, a.EndpointId, a.EventId, a.EventType, a.Attempt, a.StatusCode, a.DurationMs, a.Error, a.Succeeded,
                next = a.NextRetryAt is { } n ? Micros.From(n) : (long?)null, created = Micros.From(a.CreatedAt) }, s.Transaction);

    public async Task<IReadOnlyList<WebhookAttemptRecord>> ListAttemptsAsync(Tenant tenant, string endpointId, Cursor? after, int limit)
    {
        await using var r = await s.Connection.ExecuteReaderAsync("""
            SELECT account_id, livemode, id, endpoint_id, event_id, event_type, attempt, status_code, duration_ms, error, succeeded, next_retry_at, created_at
            FROM webhook_attempts
            WHERE account_id = @AccountId AND livemode = @Livemode AND endpoint_id = @endpointId
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, endpointId, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit },
            s.Transaction);
        var list = new List<WebhookAttemptRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new WebhookAttemptRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt32(6),
                r.IsDBNull(7) ? null : r.GetInt32(7), r.GetInt64(8), r.IsDBNull(9) ? null : r.GetString(9), r.GetBoolean(10),
                r.IsDBNull(11) ? null : Micros.To(r.GetInt64(11)), Micros.To(r.GetInt64(12))));
        }
        return list;
    }

    private static object Args(WebhookEndpointRecord e) => new
    {
        e.AccountId, e.Livemode, e.Id, e.Url, e.Description, events = JsonSerializer.Serialize(e.Events, StorageJson.Options), e.Secret, e.PreviousSecret,
        previousExpires = e.PreviousSecretExpiresAt is { } p ? Micros.From(p) : (long?)null, e.Disabled, e.DisabledReason,
        failingSince = e.FailingSince is { } f ? Micros.From(f) : (long?)null, deleted = e.DeletedAt is { } d ? Micros.From(d) : (long?)null,
        created = Micros.From(e.CreatedAt), updated = Micros.From(e.UpdatedAt),
    };

    private async Task<IReadOnlyList<WebhookEndpointRecord>> QueryEndpoints(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<WebhookEndpointRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new WebhookEndpointRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
                JsonSerializer.Deserialize<List<string>>(r.GetString(5), StorageJson.Options) ?? [], r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7),
                r.IsDBNull(8) ? null : Micros.To(r.GetInt64(8)), r.GetBoolean(9), r.IsDBNull(10) ? null : r.GetString(10),
                r.IsDBNull(11) ? null : Micros.To(r.GetInt64(11)), r.IsDBNull(12) ? null : Micros.To(r.GetInt64(12)), Micros.To(r.GetInt64(13)), Micros.To(r.GetInt64(14))));
        }
        return list;
    }
}
