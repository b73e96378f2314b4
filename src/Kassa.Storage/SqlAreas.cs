using System.Data.Common;
using System.Text.Json;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

// The data areas in portable SQL: both engines accept ON CONFLICT, row-value comparisons, LIMIT
// and named @parameters. Rows are read with plain data readers (no reflection mapping) because
// SQLite and PostgreSQL return different CLR types for the same logical column.

internal sealed class SqlAccounts(SqlSession s) : IAccountStore
{
    public async Task<bool> AnyAsync() =>
        await s.Connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM (SELECT 1 FROM accounts LIMIT 1) x", transaction: s.Transaction) > 0;

    public async Task<AccountRecord?> GetAsync(string accountId)
    {
        await using var r = await s.Connection.ExecuteReaderAsync("SELECT id, name, created_at FROM accounts WHERE id = @accountId", new { accountId }, s.Transaction);
        return await r.ReadAsync() ? new AccountRecord(r.GetString(0), r.GetString(1), Micros.To(r.GetInt64(2))) : null;
    }

    public Task InsertAsync(AccountRecord account) =>
        s.Connection.ExecuteAsync("INSERT INTO accounts (id, name, created_at) VALUES (@Id, @Name, @at)",
            new { account.Id, account.Name, at = Micros.From(account.CreatedAt) }, s.Transaction);

    public async Task<bool> TryClaimFirstAccountAsync(string accountId) =>
        await s.Connection.ExecuteAsync("INSERT INTO kassa_meta (key, value) VALUES ('first_account', @accountId) ON CONFLICT (key) DO NOTHING",
            new { accountId }, s.Transaction) == 1;

    public Task LockLimitAsync(Tenant tenant, string limit) =>
        // A hash collision between two keys only makes unrelated writers wait for each other, never wrong.
        s.Dialect.IsPostgres
            ? s.Connection.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))",
                new { key = $"limit:{limit}:{tenant.AccountId}:{(tenant.Livemode ? "live" : "test")}" }, s.Transaction)
            : Task.CompletedTask;
}

internal sealed class SqlApiKeys(SqlSession s) : IApiKeyStore
{
    private const string Columns = "account_id, livemode, id, type, name, key_hash, masked, created_at, revoked_at";

    public Task InsertAsync(ApiKeyRecord k) =>
        s.Connection.ExecuteAsync($"INSERT INTO api_keys ({Columns}) VALUES (@AccountId, @Livemode, @Id, @Type, @Name, @KeyHash, @Masked, @created, NULL)",
            new { k.AccountId, k.Livemode, k.Id, k.Type, k.Name, k.KeyHash, k.Masked, created = Micros.From(k.CreatedAt) }, s.Transaction);

    public async Task<ApiKeyRecord?> FindByHashAsync(string keyHash) =>
        (await Query($"SELECT {Columns} FROM api_keys WHERE key_hash = @keyHash", new { keyHash })).FirstOrDefault();

    public async Task<ApiKeyRecord?> GetAsync(Tenant tenant, string id) =>
        (await Query($"SELECT {Columns} FROM api_keys WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public async Task<bool> RevokeAsync(Tenant tenant, string id, DateTimeOffset at) =>
        await s.Connection.ExecuteAsync(
            "UPDATE api_keys SET revoked_at = @at WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id AND revoked_at IS NULL",
            new { tenant.AccountId, tenant.Livemode, id, at = Micros.From(at) }, s.Transaction) == 1;

    public Task<IReadOnlyList<ApiKeyRecord>> ListAsync(Tenant tenant, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM api_keys
            WHERE account_id = @AccountId AND livemode = @Livemode
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """,
            new { tenant.AccountId, tenant.Livemode, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    private async Task<IReadOnlyList<ApiKeyRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<ApiKeyRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new ApiKeyRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6),
                Micros.To(r.GetInt64(7)), r.IsDBNull(8) ? null : Micros.To(r.GetInt64(8))));
        }
        return list;
    }
}

internal sealed class SqlCustomers(SqlSession s) : ICustomerStore
{
    private const string Columns = "account_id, livemode, id, email, name, address, metadata, test_clock_id, default_payment_method_id, created_at, updated_at, deleted_at";

    public Task<CustomerRecord?> GetAsync(Tenant tenant, string id) => One(GetSql, tenant, id);

    // On SQLite the dialect adds nothing, and the concatenation answers GetSql itself (the kept statement's text).
    public Task<CustomerRecord?> GetForUpdateAsync(Tenant tenant, string id) =>
        _readAhead.TryGetValue((tenant.AccountId, tenant.Livemode, id), out var locked) ? Task.FromResult<CustomerRecord?>(locked) : One(GetSql + s.Dialect.ForUpdate, tenant, id);

    // Customers ReadAheadForUpdateAsync read and locked, as this transaction now sees them (UpdateAsync keeps them so).
    private readonly Dictionary<(string AccountId, bool Livemode, string Id), CustomerRecord> _readAhead = [];

    /// <summary>The most customers read ahead at once (the mutation batcher's PostgreSQL batches hold 64 requests).</summary>
    public const int ReadAheadMax = 1_000;

    public async Task ReadAheadForUpdateAsync(IReadOnlyCollection<(Tenant Tenant, string Id)> customers)
    {
        // SQLite reads in-process (nothing to save), and its one writer needs no lock.
        if (!s.Dialect.IsPostgres || customers.Count == 0) return;
        if (customers.Count > ReadAheadMax) throw new ArgumentOutOfRangeException(nameof(customers), $"At most {ReadAheadMax} customers are read ahead at once");
        var batch = s.TakeHeld();
        var tenants = customers.GroupBy(c => c.Tenant).ToList();
        foreach (var group in tenants)
        {
            var ids = group.Select(c => c.Id).Distinct(StringComparer.Ordinal).ToList();
            // SKIP LOCKED: a row another transaction holds (another process's batch) is left for the request itself to
            // read and wait for inside its savepoint, where a wait past the batch's limit fails that request alone.
            batch.BatchCommands.Add(SqlSession.Positional(
                $"SELECT {Columns} FROM customers WHERE account_id = @AccountId AND livemode = @Livemode AND {s.In("id", "ids", ids)} FOR UPDATE SKIP LOCKED",
                new Dictionary<string, object?> { ["AccountId"] = group.Key.AccountId, ["Livemode"] = group.Key.Livemode, ["ids"] = s.List(ids) }));
        }
        await using (batch)
        {
            await using var r = await s.RunHeldAsync(batch, b => b.ExecuteReaderAsync());
            for (var i = 0; i < tenants.Count; i++)
            {
                if (i > 0) await r.NextResultAsync();
                while (await r.ReadAsync())
                {
                    var c = ReadCustomer(r);
                    _readAhead[(c.AccountId, c.Livemode, c.Id)] = c;
                }
            }
        }
    }

    /// <summary>Forgets what was read ahead (a rollback to a savepoint may have undone a change it holds).</summary>
    internal void ForgetReadAhead() => _readAhead.Clear();

    /// <summary>Whether <see cref="ReadAheadForUpdateAsync"/> locked this customer and found it live (not deleted).</summary>
    internal bool ReadAheadLive(Tenant tenant, string id) =>
        _readAhead.TryGetValue((tenant.AccountId, tenant.Livemode, id), out var c) && c.DeletedAt is null;

    private static readonly string GetSql = $"SELECT {Columns} FROM customers WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id";

    /// <summary>One customer by id: on SQLite read raw through the kept statement (ADR 0019), as most mutations start here.</summary>
    private async Task<CustomerRecord?> One(string sql, Tenant tenant, string id)
    {
        if (s.Connection is SqliteStatementCache cache
            && cache.TryQuery(sql, ReadCustomer, ("AccountId", tenant.AccountId), ("Livemode", tenant.Livemode), ("id", id)) is { } rows)
            return rows.FirstOrDefault();
        return (await Query(sql, new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();
    }

    public async Task<bool> TryInsertAsync(CustomerRecord c) =>
        await s.Connection.ExecuteAsync($"""
            INSERT INTO customers ({Columns})
            VALUES (@AccountId, @Livemode, @Id, @Email, @Name, @address, @metadata, @TestClockId, @DefaultPaymentMethodId, @created, @updated, @deleted)
            ON CONFLICT (account_id, livemode, id) DO NOTHING
            """, Args(c), s.Transaction) == 1;

    public Task UpdateAsync(CustomerRecord c, bool deferred = false)
    {
        var key = (c.AccountId, c.Livemode, c.Id);
        if (_readAhead.ContainsKey(key)) _readAhead[key] = c;
        if (deferred && s.Dialect.IsPostgres)
        {
            s.HoldRow(UpdateAll, ArgsByName(c));
            return Task.CompletedTask;
        }
        return s.Connection.ExecuteAsync(s.Dialect.IsPostgres ? UpdateAll : UpdateIndexedOnlyIfChanged, Args(c), s.Transaction);
    }

    // PostgreSQL compares old and new values itself: an UPDATE that leaves email and deleted_at as they were is
    // a HOT update whichever columns it names.
    private const string UpdateAll = """
        UPDATE customers SET email = @Email, name = @Name, address = @address, metadata = @metadata,
            test_clock_id = @TestClockId, default_payment_method_id = @DefaultPaymentMethodId, updated_at = @updated, deleted_at = @deleted
        WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
        """;

    // SQLite rewrites every index that holds a column the UPDATE names, changed or not: email and deleted_at (in
    // customers_by_email and the partial indexes' condition) are set by a second statement only when they change,
    // so a customer update that leaves them alone writes the row's page and no index leaf (two random pages
    // fewer in the WAL per update).
    private const string UpdateIndexedOnlyIfChanged = """
        UPDATE customers SET name = @Name, address = @address, metadata = @metadata,
            test_clock_id = @TestClockId, default_payment_method_id = @DefaultPaymentMethodId, updated_at = @updated
        WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id;
        UPDATE customers SET email = @Email, deleted_at = @deleted
        WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id AND (email IS NOT @Email OR deleted_at IS NOT @deleted);
        """;

    public Task<IReadOnlyList<CustomerRecord>> ListAsync(Tenant tenant, string? email, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM customers
            WHERE account_id = @AccountId AND livemode = @Livemode AND deleted_at IS NULL
              AND (@email IS NULL OR email = @email)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """,
            new { tenant.AccountId, tenant.Livemode, email, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    /// <summary><see cref="Args"/> by parameter name, for a statement held on PostgreSQL (<see cref="SqlSession.Positional"/>).</summary>
    private static Dictionary<string, object?> ArgsByName(CustomerRecord c) => new(StringComparer.Ordinal)
    {
        ["AccountId"] = c.AccountId, ["Livemode"] = c.Livemode, ["Id"] = c.Id, ["Email"] = c.Email, ["Name"] = c.Name,
        ["address"] = c.Address is null ? null : JsonSerializer.Serialize(c.Address, StorageJson.Options),
        ["metadata"] = JsonSerializer.Serialize(c.Metadata, StorageJson.Options),
        ["TestClockId"] = c.TestClockId, ["DefaultPaymentMethodId"] = c.DefaultPaymentMethodId,
        ["updated"] = Micros.From(c.UpdatedAt), ["deleted"] = c.DeletedAt is { } d ? Micros.From(d) : null,
    };

    private static object Args(CustomerRecord c) => new
    {
        c.AccountId, c.Livemode, c.Id, c.Email, c.Name,
        address = c.Address is null ? null : JsonSerializer.Serialize(c.Address, StorageJson.Options),
        metadata = JsonSerializer.Serialize(c.Metadata, StorageJson.Options),
        c.TestClockId, c.DefaultPaymentMethodId,
        created = Micros.From(c.CreatedAt), updated = Micros.From(c.UpdatedAt), deleted = c.DeletedAt is { } d ? Micros.From(d) : (long?)null,
    };

    private async Task<IReadOnlyList<CustomerRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<CustomerRecord>();
        while (await r.ReadAsync()) list.Add(ReadCustomer(r));
        return list;
    }

    private static CustomerRecord ReadCustomer(DbDataReader r) =>
        new(r.GetString(0), r.GetBoolean(1), r.GetString(2), NullableString(r, 3), NullableString(r, 4),
            r.IsDBNull(5) ? null : JsonSerializer.Deserialize<Address>(r.GetString(5), StorageJson.Options),
            JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(6), StorageJson.Options) ?? [],
            NullableString(r, 7), NullableString(r, 8), Micros.To(r.GetInt64(9)), Micros.To(r.GetInt64(10)),
            r.IsDBNull(11) ? null : Micros.To(r.GetInt64(11)));

    private static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}

internal sealed class SqlAudit(SqlSession s) : IAuditStore
{
    private const string Columns = "account_id, livemode, id, created_at, actor_type, actor_id, action, object_type, object_id, request_id, changed_fields";

    // Written with the transaction's other append-only rows just before it commits (PendingRows).
    public Task AppendAsync(AuditRecord a) => s.Pending.AddAsync(s, a);

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(Tenant tenant, AuditFilter f, Cursor? after, int limit)
    {
        await s.FlushAsync();
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT {Columns} FROM audit_events
            WHERE account_id = @AccountId AND livemode = @Livemode
              AND (@objectId IS NULL OR object_id = @objectId)
              AND (@actorId IS NULL OR actor_id = @actorId)
              AND (@hasFrom = 0 OR created_at >= @from)
              AND (@hasTo = 0 OR created_at < @to)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """,
            new
            {
                tenant.AccountId, tenant.Livemode, objectId = f.ObjectId, actorId = f.ActorId,
                hasFrom = f.From is null ? 0 : 1, from = f.From is { } fr ? Micros.From(fr) : 0,
                hasTo = f.To is null ? 0 : 1, to = f.To is { } t ? Micros.From(t) : 0,
                hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit,
            }, s.Transaction);
        var list = new List<AuditRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new AuditRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), Micros.To(r.GetInt64(3)), r.GetString(4), r.GetString(5),
                r.GetString(6), r.GetString(7), r.GetString(8), r.GetString(9),
                JsonSerializer.Deserialize<List<string>>(r.GetString(10), StorageJson.Options) ?? []));
        }
        return list;
    }
}

internal sealed class SqlIdempotency(SqlSession s) : IIdempotencyStore
{
    private const string Columns = "account_id, livemode, key, fingerprint, completed, claim_token, request_id, locked_until, response_status, response_body, created_at, expires_at";

    public async Task<IdempotencyRecord?> GetAsync(Tenant tenant, string key)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(
            $"SELECT {Columns} FROM idempotency_keys WHERE account_id = @AccountId AND livemode = @Livemode AND key = @key",
            new { tenant.AccountId, tenant.Livemode, key }, s.Transaction);
        if (!await r.ReadAsync()) return null;
        return new IdempotencyRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetBoolean(4), r.GetString(5), r.GetString(6),
            Micros.To(r.GetInt64(7)), r.IsDBNull(8) ? null : r.GetInt32(8), r.IsDBNull(9) ? null : (byte[])r.GetValue(9),
            Micros.To(r.GetInt64(10)), Micros.To(r.GetInt64(11)));
    }

    public async Task<bool> TryInsertAsync(IdempotencyRecord c) =>
        await s.Connection.ExecuteAsync($"""
            INSERT INTO idempotency_keys ({Columns})
            VALUES (@AccountId, @Livemode, @Key, @Fingerprint, @Completed, @ClaimToken, @RequestId, @locked, NULL, NULL, @created, @expires)
            ON CONFLICT (account_id, livemode, key) DO NOTHING
            """, ClaimArgs(c), s.Transaction) == 1;

    public async Task<bool> TryTakeOverAsync(IdempotencyRecord c, string previousToken) =>
        await s.Connection.ExecuteAsync("""
            UPDATE idempotency_keys SET fingerprint = @Fingerprint, completed = @Completed, claim_token = @ClaimToken, request_id = @RequestId, locked_until = @locked,
                response_status = NULL, response_body = NULL, created_at = @created, expires_at = @expires
            WHERE account_id = @AccountId AND livemode = @Livemode AND key = @Key AND claim_token = @previousToken
            """, new { c.AccountId, c.Livemode, c.Key, c.Fingerprint, c.Completed, c.ClaimToken, c.RequestId, locked = Micros.From(c.LockedUntil),
                created = Micros.From(c.CreatedAt), expires = Micros.From(c.ExpiresAt), previousToken }, s.Transaction) == 1;

    public async Task<bool> CompleteAsync(Tenant tenant, string key, string claimToken, int status, byte[] body, DateTimeOffset expiresAt) =>
        await s.Connection.ExecuteAsync("""
            UPDATE idempotency_keys SET completed = @done, response_status = @status, response_body = @body, expires_at = @expires
            WHERE account_id = @AccountId AND livemode = @Livemode AND key = @key AND claim_token = @claimToken AND completed = @notDone
            """, new { tenant.AccountId, tenant.Livemode, key, claimToken, status, body, expires = Micros.From(expiresAt), done = true, notDone = false },
            s.Transaction) == 1;

    public Task ReleaseAsync(Tenant tenant, string key, string claimToken) =>
        s.Connection.ExecuteAsync(
            "DELETE FROM idempotency_keys WHERE account_id = @AccountId AND livemode = @Livemode AND key = @key AND claim_token = @claimToken AND completed = @notDone",
            new { tenant.AccountId, tenant.Livemode, key, claimToken, notDone = false }, s.Transaction);

    public Task<int> PurgeExpiredAsync(DateTimeOffset now, int batchSizeMax) =>
        s.Connection.ExecuteAsync("""
            DELETE FROM idempotency_keys WHERE (account_id, livemode, key) IN (
              SELECT account_id, livemode, key FROM idempotency_keys WHERE expires_at < @now LIMIT @batchSizeMax)
            """, new { now = Micros.From(now), batchSizeMax }, s.Transaction);

    private static object ClaimArgs(IdempotencyRecord c) => new
    {
        c.AccountId, c.Livemode, c.Key, c.Fingerprint, c.Completed, c.ClaimToken, c.RequestId, locked = Micros.From(c.LockedUntil),
        created = Micros.From(c.CreatedAt), expires = Micros.From(c.ExpiresAt),
    };
}

internal static class StorageJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
