using System.Data.Common;
using System.Text.Json;
using Dapper;
using Kassa.Core.Balances;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlBalances(SqlSession s) : IBalanceStore
{
    public async Task WriteTogetherAsync(Func<Task> writes, bool deferred = false)
    {
        if (!s.Dialect.IsPostgres)
        {
            await writes();
            return;
        }
        s.DeferRowWrites();
        try
        {
            await writes();
        }
        catch
        {
            // The transaction is failing anyway: what was held is dropped, and the first error is the one reported.
            s.DropDeferredRowWrites();
            throw;
        }
        if (deferred) s.HoldDeferredRowWrites();
        else await s.SendDeferredRowWritesAsync();
    }

    private const string HeaderColumns =
        "account_id, livemode, customer_id, feature_id, entity_id, overage, overage_policy, unlimited, allowance, reset, anchor, period_start, next_reset_at, rollover, rollover_max, subscription_id, version, updated_at, overage_price";
    private const string BucketColumns =
        "account_id, livemode, customer_id, feature_id, entity_id, id, kind, priority, category, granted, used, held, effective_at, expires_at, created_at, voided, expiry_recorded, name, metadata";
    private const string LockColumns = "account_id, livemode, id, customer_id, feature_id, entity_id, status, held, consumed, parts, expires_at, created_at, finalized_at";
    private const string TransactionColumns = "account_id, livemode, id, customer_id, feature_id, entity_id, type, amount, bucket_id, balance_after, source_type, source_id, created_at";

    private string In(string column, string parameter, IReadOnlyCollection<string> values) => s.In(column, parameter, values);

    /// <summary>
    /// The texts of the queries over lists, built once per engine and shape: a list's text depends only on whether it
    /// holds one value (<see cref="SqlSession.In"/>), and building them again per call was a few percent of a grant's
    /// writer time. At most a few dozen texts.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Query, bool Postgres, int Shape), string> Texts = new();

    private string Text(string query, int shape, Func<string> build) => Texts.GetOrAdd((query, s.Dialect.IsPostgres, shape), static (_, b) => b(), build);

    /// <summary>1 for a list of one value, 2 for any other (the two texts <see cref="SqlSession.In"/> writes).</summary>
    private static int Shape(IReadOnlyCollection<string> values) => values.Count == 1 ? 1 : 2;
    private object List(IReadOnlyCollection<string> values) => s.List(values);

    // Locked in primary-key order so two batches touching the same customers cannot deadlock.
    private string HeadersSql(IReadOnlyCollection<string> customerIds, bool forUpdate) =>
        Text(nameof(HeadersSql), Shape(customerIds) + (forUpdate ? 4 : 0), () => BuildHeadersSql(customerIds, forUpdate));

    private string BuildHeadersSql(IReadOnlyCollection<string> customerIds, bool forUpdate) => $"""
        SELECT {HeaderColumns}, suspended FROM feature_balances
        WHERE account_id = @AccountId AND livemode = @Livemode AND {In("customer_id", "ids", customerIds)}
        ORDER BY customer_id, feature_id, entity_id{(forUpdate ? s.Dialect.ForUpdate : "")}
        """;

    public async Task<IReadOnlyList<BalanceHeader>> LoadHeadersAsync(Tenant tenant, IReadOnlyCollection<string> customerIds, bool forUpdate)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(HeadersSql(customerIds, forUpdate),
            new { tenant.AccountId, tenant.Livemode, ids = List(customerIds) }, s.Transaction);
        return await ReadAllAsync(r, ReadHeader);
    }

    private static BalanceHeader ReadHeader(DbDataReader r)
    {
        var h = new BalanceHeader
        {
            AccountId = r.GetString(0), Livemode = r.GetBoolean(1), CustomerId = r.GetString(2), FeatureId = r.GetString(3), EntityId = r.GetString(4),
            Overage = r.GetInt64(5), OveragePolicy = OverageFromRow(r.GetString(6)), Unlimited = r.GetBoolean(7), Allowance = r.GetInt64(8), Reset = r.GetString(9),
            Anchor = Micros.To(r.GetInt64(10)), PeriodStart = Micros.To(r.GetInt64(11)), NextResetAt = r.IsDBNull(12) ? null : Micros.To(r.GetInt64(12)),
            Rollover = r.GetBoolean(13), RolloverMax = r.IsDBNull(14) ? null : r.GetInt64(14), SubscriptionId = r.IsDBNull(15) ? null : r.GetString(15),
            Version = r.GetInt64(16), UpdatedAt = Micros.To(r.GetInt64(17)), OveragePrice = r.IsDBNull(18) ? null : r.GetString(18),
            Suspended = r.GetBoolean(19),
        };
        h.Stored = h.Columns;
        return h;
    }

    private static async Task<IReadOnlyList<T>> ReadAllAsync<T>(DbDataReader r, Func<DbDataReader, T> read)
    {
        var list = new List<T>();
        while (await r.ReadAsync()) list.Add(read(r));
        return list;
    }

    private string BucketsSql(IReadOnlyCollection<string> customerIds) => Text(nameof(BucketsSql), Shape(customerIds), () => BuildBucketsSql(customerIds));

    private string BuildBucketsSql(IReadOnlyCollection<string> customerIds) => $"""
        SELECT {BucketColumns} FROM balance_buckets
        WHERE account_id = @AccountId AND livemode = @Livemode AND {In("customer_id", "ids", customerIds)} AND {s.Dialect.IsFalse("voided")}
          AND (expires_at IS NULL OR expires_at > @now OR {s.Dialect.IsFalse("expiry_recorded")} OR held > 0)
        """;

    public async Task<IReadOnlyList<StoredBucket>> LoadBucketsAsync(Tenant tenant, IReadOnlyCollection<string> customerIds, DateTimeOffset now) =>
        await QueryBuckets(BucketsSql(customerIds), new { tenant.AccountId, tenant.Livemode, ids = List(customerIds), now = Micros.From(now) });

    private string HeldLocksSql(IReadOnlyCollection<string> customerIds) => Text(nameof(HeldLocksSql), Shape(customerIds), () => BuildHeldLocksSql(customerIds));

    private string BuildHeldLocksSql(IReadOnlyCollection<string> customerIds) =>
        $"SELECT {LockColumns} FROM locks WHERE account_id = @AccountId AND livemode = @Livemode AND {In("customer_id", "ids", customerIds)} AND status = 'held'";

    public Task<IReadOnlyList<LockRecord>> LoadHeldLocksAsync(Tenant tenant, IReadOnlyCollection<string> customerIds) =>
        QueryLocks(HeldLocksSql(customerIds), new { tenant.AccountId, tenant.Livemode, ids = List(customerIds) });

    public Task<IReadOnlyList<LockRecord>> LoadLocksAsync(Tenant tenant, IReadOnlyCollection<string> lockIds) =>
        QueryLocks($"SELECT {LockColumns} FROM locks WHERE account_id = @AccountId AND livemode = @Livemode AND {In("id", "ids", lockIds)}",
            new { tenant.AccountId, tenant.Livemode, ids = List(lockIds) });

    private string UsageByKeysSql(IReadOnlyCollection<string> customerIds, IReadOnlyCollection<string> keys) =>
        Text(nameof(UsageByKeysSql), Shape(customerIds) + 4 * Shape(keys), () => BuildUsageByKeysSql(customerIds, keys));

    private string BuildUsageByKeysSql(IReadOnlyCollection<string> customerIds, IReadOnlyCollection<string> keys) => $"""
        SELECT {UsageColumns} FROM usage_records
        WHERE account_id = @AccountId AND livemode = @Livemode AND {In("customer_id", "ids", customerIds)} AND {In("idempotency_key", "keys", keys)}
        """;

    public async Task<IReadOnlyList<UsageRecord>> LoadUsageByKeysAsync(Tenant tenant, IReadOnlyCollection<string> customerIds, IReadOnlyCollection<string> keys)
    {
        if (keys.Count == 0 || customerIds.Count == 0) return [];
        await using var r = await s.Connection.ExecuteReaderAsync(UsageByKeysSql(customerIds, keys),
            new { tenant.AccountId, tenant.Livemode, ids = List(customerIds), keys = List(keys) }, s.Transaction);
        return await ReadAllAsync(r, ReadUsage);
    }

    private static UsageRecord ReadUsage(DbDataReader r) =>
        new(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt64(6),
            r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8), Micros.To(r.GetInt64(9)), Micros.To(r.GetInt64(10)));

    private string ExistingCustomersSql(IReadOnlyCollection<string> customerIds) =>
        Text(nameof(ExistingCustomersSql), Shape(customerIds), () => BuildExistingCustomersSql(customerIds));

    /// <summary><see cref="ExistingCustomersSql"/> locking the rows it finds (PostgreSQL), in key order, as a customer read for update does.</summary>
    private string LockedCustomersSql(IReadOnlyCollection<string> customerIds) =>
        Text(nameof(LockedCustomersSql), Shape(customerIds), () => BuildExistingCustomersSql(customerIds) + " ORDER BY id" + s.Dialect.ForUpdate);

    private string BuildExistingCustomersSql(IReadOnlyCollection<string> customerIds) =>
        $"SELECT id FROM customers WHERE account_id = @AccountId AND livemode = @Livemode AND {In("id", "ids", customerIds)} AND deleted_at IS NULL";

    public async Task<IReadOnlySet<string>> ExistingCustomersAsync(Tenant tenant, IReadOnlyCollection<string> customerIds) =>
        (await s.Connection.QueryAsync<string>(ExistingCustomersSql(customerIds),
            new { tenant.AccountId, tenant.Livemode, ids = List(customerIds) }, s.Transaction)).ToHashSet(StringComparer.Ordinal);

    public async Task<BookRows> LoadBookAsync(BookQuery q)
    {
        if (s.Dialect.IsPostgres) return TakeBookReadAhead(q) ?? await LoadBookTogetherAsync(q);
        // SQLite is in-process: a query is microseconds, so the loads run one by one and skip what cannot matter.
        if (LoadCustomersAndHeadersRaw(q) is not var (customers, headers))
        {
            customers = q.CustomersKnownToExist ? new HashSet<string>(q.CustomerIds, StringComparer.Ordinal) : await ExistingCustomersAsync(q.Tenant, q.CustomerIds);
            headers = await LoadHeadersAsync(q.Tenant, q.CustomerIds, q.ForUpdate);
        }
        // No balance rows: no buckets or locks can matter (locks and buckets hang off a balance).
        var any = headers.Count > 0 || q.ByLockIds;
        var ids = any ? List(q.CustomerIds) : null;
        return new BookRows(customers, headers,
            !any ? [] : Raw(BucketsSql(q.CustomerIds), ReadBucket, ("AccountId", q.Tenant.AccountId), ("Livemode", q.Tenant.Livemode), ("ids", ids), ("now", Micros.From(q.Now)))
                ?? await LoadBucketsAsync(q.Tenant, q.CustomerIds, q.Now),
            !any ? [] : Raw(HeldLocksSql(q.CustomerIds), ReadLock, ("AccountId", q.Tenant.AccountId), ("Livemode", q.Tenant.Livemode), ("ids", ids))
                ?? await LoadHeldLocksAsync(q.Tenant, q.CustomerIds),
            q.FeatureIds.Count > 0 ? await FeaturesWithCreditSystemsAsync(q.Tenant, q.FeatureIds) : [],
            await LoadUsageByKeysAsync(q.Tenant, q.CustomerIds, q.IdempotencyKeys));
    }

    /// <summary>A query through the SQLite connection's raw prepared statement; null where it could not run there (then through Dapper).</summary>
    private List<T>? Raw<T>(string sql, Func<DbDataReader, T> read, params ReadOnlySpan<(string, object?)> args) =>
        s.Connection is SqliteStatementCache cache ? cache.TryQuery(sql, read, args) : null;

    /// <summary>
    /// SQLite: which of the customers exist and their balance headers, in one statement read raw (ADR 0019) — one
    /// row a header, or one without a header for a customer who has none. Null when it could not run raw.
    /// </summary>
    private (IReadOnlySet<string> Customers, IReadOnlyList<BalanceHeader> Headers)? LoadCustomersAndHeadersRaw(BookQuery q)
    {
        var rows = Raw(CustomersAndHeaders[q.CustomersKnownToExist ? 1 : 0],
            static r => (Customer: r.GetString(HeaderReadColumns), Exists: r.GetBoolean(HeaderReadColumns + 1), Header: r.IsDBNull(0) ? null : ReadHeader(r)),
            ("AccountId", q.Tenant.AccountId), ("Livemode", q.Tenant.Livemode), ("ids", JsonSerializer.Serialize(q.CustomerIds, KassaJson.Options)));
        if (rows is null) return null;
        var customers = new HashSet<string>(StringComparer.Ordinal);
        var headers = new List<BalanceHeader>(rows.Count);
        foreach (var (customer, exists, header) in rows)
        {
            if (exists) customers.Add(customer);
            if (header is not null) headers.Add(header);
        }
        // In key order, as HeadersSql answers them (json_each keeps the array's order, but that is the caller's).
        headers.Sort(static (a, b) => string.CompareOrdinal(a.CustomerId, b.CustomerId) is not 0 and var c ? c
            : string.CompareOrdinal(a.FeatureId, b.FeatureId) is not 0 and var f ? f : string.CompareOrdinal(a.EntityId, b.EntityId));
        return (customers, headers);
    }

    /// <summary>The columns <see cref="ReadHeader"/> reads (the header's and <c>suspended</c>).</summary>
    private const int HeaderReadColumns = 20;

    /// <summary>
    /// Every customer asked for with whether it exists and each of its headers (none: one row of NULLs); [1] takes
    /// the customers as existing. The customer's own lookup is one join, not a statement of its own: a balance
    /// batch on SQLite paid ~80 µs for that statement before (bench/README.md, fifteenth session).
    /// </summary>
    private static readonly string[] CustomersAndHeaders = [CustomersAndHeadersSql(knownToExist: false), CustomersAndHeadersSql(knownToExist: true)];

    private static string CustomersAndHeadersSql(bool knownToExist) => $"""
        SELECT {string.Join(", ", HeaderColumns.Split(", ").Select(c => "h." + c))}, h.suspended, j.value, {(knownToExist ? "1" : "c.id IS NOT NULL")}
        FROM json_each(@ids) j
        {(knownToExist ? "" : "LEFT JOIN customers c ON c.account_id = @AccountId AND c.livemode = @Livemode AND c.id = j.value AND c.deleted_at IS NULL")}
        LEFT JOIN feature_balances h ON h.account_id = @AccountId AND h.livemode = @Livemode AND h.customer_id = j.value
        """;

    /// <summary>
    /// The loads of <see cref="LoadBookAsync"/> as one batch: PostgreSQL runs its statements in order in the
    /// session (the header lock is taken before the buckets are read, as with separate loads), one round trip.
    /// </summary>
    private async Task<BookRows> LoadBookTogetherAsync(BookQuery q)
    {
        var args = new Dictionary<string, object?>
        {
            ["AccountId"] = q.Tenant.AccountId, ["Livemode"] = q.Tenant.Livemode, ["ids"] = List(q.CustomerIds), ["now"] = Micros.From(q.Now),
        };
        // What the session holds goes first, in the same round trip (ADR 0022); held statements give no result sets.
        await using var batch = s.TakeHeld();
        if (!q.CustomersKnownToExist)
            batch.BatchCommands.Add(SqlSession.Positional(q.LockCustomers ? LockedCustomersSql(q.CustomerIds) : ExistingCustomersSql(q.CustomerIds), args));
        batch.BatchCommands.Add(SqlSession.Positional(HeadersSql(q.CustomerIds, q.ForUpdate), args));
        batch.BatchCommands.Add(SqlSession.Positional(BucketsSql(q.CustomerIds), args));
        batch.BatchCommands.Add(SqlSession.Positional(HeldLocksSql(q.CustomerIds), args));
        if (q.FeatureIds.Count > 0)
            batch.BatchCommands.Add(SqlSession.Positional(FeaturesSql(q.FeatureIds), new Dictionary<string, object?>(args) { ["features"] = List(q.FeatureIds) }));
        var keyed = q.IdempotencyKeys.Count > 0 && q.CustomerIds.Count > 0;
        if (keyed)
            batch.BatchCommands.Add(SqlSession.Positional(UsageByKeysSql(q.CustomerIds, q.IdempotencyKeys), new Dictionary<string, object?>(args) { ["keys"] = List(q.IdempotencyKeys) }));
        await using var r = await s.RunHeldAsync(batch, b => b.ExecuteReaderAsync());
        IReadOnlySet<string> customers;
        if (q.CustomersKnownToExist) customers = new HashSet<string>(q.CustomerIds, StringComparer.Ordinal);
        else
        {
            customers = (await ReadAllAsync(r, x => x.GetString(0))).ToHashSet(StringComparer.Ordinal);
            await r.NextResultAsync();
        }
        var headers = await ReadAllAsync(r, ReadHeader);
        await r.NextResultAsync();
        var buckets = await ReadAllAsync(r, ReadBucket);
        await r.NextResultAsync();
        var locks = await ReadAllAsync(r, ReadLock);
        IReadOnlyList<FeatureRecord> features = [];
        if (q.FeatureIds.Count > 0)
        {
            await r.NextResultAsync();
            features = await ReadAllAsync(r, SqlCatalog.ReadFeature);
        }
        IReadOnlyList<UsageRecord> usage = [];
        if (keyed)
        {
            await r.NextResultAsync();
            usage = await ReadAllAsync(r, ReadUsage);
        }
        return new BookRows(customers, headers, buckets, locks, features, usage);
    }

    /// <summary>A customer's book as <see cref="ReadAheadBooksAsync"/> read it: its buckets as live at <see cref="Since"/> or later.</summary>
    private sealed record BookAhead(long Since, List<BalanceHeader> Headers, List<StoredBucket> Buckets, List<LockRecord> Locks);

    // Books read ahead and not yet taken, by (account, livemode, customer). Taken once; any balance write for the
    // customer in this transaction drops its book, and a rollback to a savepoint drops them all (ForgetReadAhead).
    private readonly Dictionary<(string AccountId, bool Livemode, string CustomerId), BookAhead> _booksAhead = [];

    /// <summary>
    /// How far before the read-ahead a request's time may lie and still be answered from it: requests carry the time
    /// they arrived, which is before their batch ran. The read-ahead asks for the buckets live at that earlier time (a
    /// superset of those live later), and the take filters them at the request's own time; an older request (it
    /// cannot have waited this long; a test clock's customer can be in the past) loads for itself.
    /// </summary>
    private static readonly TimeSpan ReadAheadSlack = TimeSpan.FromMinutes(10);

    public async Task ReadAheadBooksAsync(IReadOnlyCollection<(Tenant Tenant, string Id)> customers, DateTimeOffset now)
    {
        if (!s.Dialect.IsPostgres || customers.Count == 0) return;
        if (customers.Count > SqlCustomers.ReadAheadMax) throw new ArgumentOutOfRangeException(nameof(customers), $"At most {SqlCustomers.ReadAheadMax} books are read ahead at once");
        var customerStore = (SqlCustomers)s.Customers;
        // Only customers whose row this transaction holds and finds live: their lock is what orders a grant's header
        // creation (see SaveHeadersAsync), and a deleted customer's grant is refused by its own load.
        var tenants = customers.Where(c => customerStore.ReadAheadLive(c.Tenant, c.Id))
            .GroupBy(c => c.Tenant).Select(g => (Tenant: g.Key, Ids: g.Select(c => c.Id).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList())).ToList();
        if (tenants.Count == 0) return;
        var since = Micros.From(now - ReadAheadSlack);
        await using var batch = s.TakeHeld();
        foreach (var (tenant, ids) in tenants)
        {
            var args = new Dictionary<string, object?> { ["AccountId"] = tenant.AccountId, ["Livemode"] = tenant.Livemode, ["ids"] = List(ids), ["now"] = since };
            // The headers this transaction could lock now (SKIP LOCKED: a header another transaction holds would hold up
            // the whole batch here; its customer is left to its own load, which waits inside its request's savepoint),
            // then how many each customer has: a customer with fewer locked than it has is left out. Then the buckets
            // and held locks, read after the header locks as the request's own load reads them.
            batch.BatchCommands.Add(SqlSession.Positional(HeadersSql(ids, forUpdate: true) + " SKIP LOCKED", args));
            batch.BatchCommands.Add(SqlSession.Positional(
                $"SELECT customer_id, COUNT(*) FROM feature_balances WHERE account_id = @AccountId AND livemode = @Livemode AND {In("customer_id", "ids", ids)} GROUP BY customer_id", args));
            batch.BatchCommands.Add(SqlSession.Positional(BucketsSql(ids), args));
            batch.BatchCommands.Add(SqlSession.Positional(HeldLocksSql(ids), args));
        }
        await using var r = await s.RunHeldAsync(batch, b => b.ExecuteReaderAsync());
        for (var t = 0; t < tenants.Count; t++)
        {
            if (t > 0) await r.NextResultAsync();
            var (tenant, ids) = tenants[t];
            var headers = await ReadAllAsync(r, ReadHeader);
            await r.NextResultAsync();
            var counts = await ReadAllAsync(r, x => (Customer: x.GetString(0), Count: Convert.ToInt64(x.GetValue(1))));
            await r.NextResultAsync();
            var buckets = await ReadAllAsync(r, ReadBucket);
            await r.NextResultAsync();
            var locks = await ReadAllAsync(r, ReadLock);
            var books = ids.ToDictionary(id => id, _ => new BookAhead(since, [], [], []), StringComparer.Ordinal);
            foreach (var h in headers) books[h.CustomerId].Headers.Add(h);
            foreach (var b in buckets) books[b.CustomerId].Buckets.Add(b);
            foreach (var l in locks) books[l.CustomerId].Locks.Add(l);
            var all = counts.ToDictionary(c => c.Customer, c => c.Count, StringComparer.Ordinal);
            foreach (var (id, book) in books)
            {
                if (book.Headers.Count != all.GetValueOrDefault(id)) continue;
                _booksAhead[(tenant.AccountId, tenant.Livemode, id)] = book;
                BooksReadAhead++;
            }
        }
    }

    /// <summary>This transaction's books read ahead, and those taken by a load (for tests).</summary>
    internal int BooksReadAhead { get; private set; }
    internal int BooksTaken { get; private set; }

    private static long s_booksTaken;

    /// <summary>Books taken from a read-ahead, process-wide (for tests and diagnostics).</summary>
    internal static long BooksTakenTotal => Interlocked.Read(ref s_booksTaken);

    /// <summary>
    /// The book read ahead for the one customer of a load for update, filtered at the load's time as BucketsSql
    /// filters; null when there is none (then the load runs). Taken once: a second load of the customer in the
    /// transaction reads what the first request wrote.
    /// </summary>
    private BookRows? TakeBookReadAhead(BookQuery q)
    {
        if (_booksAhead.Count == 0 || q.CustomerIds.Count != 1 || !q.ForUpdate || q.FeatureIds.Count > 0 || q.IdempotencyKeys.Count > 0 || q.ByLockIds) return null;
        var customer = q.CustomerIds.First();
        if (!_booksAhead.Remove((q.Tenant.AccountId, q.Tenant.Livemode, customer), out var book)) return null;
        var now = Micros.From(q.Now);
        if (now < book.Since) return null;
        BooksTaken++;
        Interlocked.Increment(ref s_booksTaken);
        var live = book.Buckets.Where(b => !b.Bucket.Voided &&
            (b.Bucket.ExpiresAt is not { } e || Micros.From(e) > now || !b.Bucket.ExpiryRecorded || b.Bucket.Held > 0)).ToList();
        return new BookRows(new HashSet<string>([customer], StringComparer.Ordinal), book.Headers, live, book.Locks, [], []);
    }

    /// <summary>Drops the books read ahead (a rollback to a savepoint may have undone what they were read after).</summary>
    internal void ForgetReadAhead() => _booksAhead.Clear();

    /// <summary>Drops the read-ahead books of the customers a write names: a later load must see the write.</summary>
    private void ForgetBooks<T>(IReadOnlyList<T> rows, Func<T, (string AccountId, bool Livemode, string CustomerId)> key)
    {
        if (_booksAhead.Count == 0) return;
        foreach (var row in rows) _booksAhead.Remove(key(row));
    }

    public async Task SaveHeadersAsync(IReadOnlyList<BalanceHeader> headers)
    {
        ForgetBooks(headers, static h => (h.AccountId, h.Livemode, h.CustomerId));
        var fresh = headers.Where(h => h.IsNew).ToList();
        var existing = headers.Where(h => !h.IsNew).ToList();
        // A header two writers create at once (e.g. concurrent first grants) is created once; the later
        // writer's row lock on the customer makes it see the first one next time.
        await RowWriter.ExecuteAsync(s, InsertHeaderSql, fresh, HeaderValues);
        foreach (var h in fresh) h.IsNew = false;
        // next_reset_at is assigned only when it moved: a statement that assigns an indexed column rewrites the
        // index entry even with the same value (a feature_balances_due page per grant; see BucketUpdateSql).
        await RowWriter.ExecuteAsync(s, HeaderUpdate[0], existing.Where(h => !h.NextResetChanged).ToList(), h => HeaderUpdateValues(h, nextReset: false));
        await RowWriter.ExecuteAsync(s, HeaderUpdate[1], existing.Where(h => h.NextResetChanged).ToList(), h => HeaderUpdateValues(h, nextReset: true));
        foreach (var h in headers) h.Stored = h.Columns;
    }

    /// <summary>A header's UPDATE without and with next_reset_at (built once: the batch path runs them per batch).</summary>
    private static readonly string[] HeaderUpdate = [HeaderUpdateSql(nextReset: false), HeaderUpdateSql(nextReset: true)];

    private static string HeaderUpdateSql(bool nextReset) => $"""
        UPDATE feature_balances SET overage = @overage, overage_policy = @policy, unlimited = @unlimited, allowance = @allowance, reset = @reset,
            anchor = @anchor, period_start = @period_start,{(nextReset ? " next_reset_at = @next_reset," : "")} rollover = @rollover, rollover_max = @rollover_max,
            subscription_id = @subscription_id, version = @version, updated_at = @updated_at, overage_price = @overage_price
        WHERE account_id = @account_id AND livemode = @livemode AND customer_id = @customer_id AND feature_id = @feature_id AND entity_id = @entity_id
        """;

    private static object?[] HeaderUpdateValues(BalanceHeader h, bool nextReset) => nextReset
        ? [
            h.Overage, OverageToRow(h.OveragePolicy), h.Unlimited, h.Allowance, h.Reset, Micros.From(h.Anchor), Micros.From(h.PeriodStart),
            h.NextResetAt is { } n ? Micros.From(n) : null, h.Rollover, h.RolloverMax, h.SubscriptionId, h.Version, Micros.From(h.UpdatedAt), h.OveragePrice,
            h.AccountId, h.Livemode, h.CustomerId, h.FeatureId, h.EntityId,
        ]
        : [
            h.Overage, OverageToRow(h.OveragePolicy), h.Unlimited, h.Allowance, h.Reset, Micros.From(h.Anchor), Micros.From(h.PeriodStart),
            h.Rollover, h.RolloverMax, h.SubscriptionId, h.Version, Micros.From(h.UpdatedAt), h.OveragePrice,
            h.AccountId, h.Livemode, h.CustomerId, h.FeatureId, h.EntityId,
        ];

    // A boolean feature's entitlement row has always stored "boolean" in overage_policy; it is a flag
    // (no balance, no policy) in memory, and the column keeps its strings so no migration is needed.
    private const string FlagPolicy = "boolean";

    private static OveragePolicy? OverageFromRow(string text) => text == FlagPolicy ? null : BalanceWords.Parse<OveragePolicy>(text);

    private static string OverageToRow(OveragePolicy? policy) => policy is { } p ? BalanceWords.Wire(p) : FlagPolicy;

    // Built once: a grant or batch used to split and join the column lists again for every statement (~4 % of a grant's writer time).
    private static readonly string InsertHeaderSql = $"INSERT INTO feature_balances ({HeaderColumns}) VALUES ({Params(HeaderColumns)}) ON CONFLICT DO NOTHING";
    private static readonly string InsertBucketSql = $"INSERT INTO balance_buckets ({BucketColumns}) VALUES ({Params(BucketColumns)})";
    private static readonly string InsertLockSql = $"INSERT INTO locks ({LockColumns}) VALUES ({Params(LockColumns)})";
    private static readonly string InsertUsageSql = $"INSERT INTO usage_records ({UsageColumns}) VALUES ({Params(UsageColumns)})";
    private static readonly string InsertTransactionSql = $"INSERT INTO credit_transactions ({TransactionColumns}) VALUES ({Params(TransactionColumns)})";

    /// <summary>"a, b, c" → "@a, @b, @c": the parameters of an INSERT in column order.</summary>
    private static string Params(string columns) => string.Join(", ", columns.Split(", ").Select(c => "@" + c));

    private static object?[] HeaderValues(BalanceHeader h) =>
    [
        h.AccountId, h.Livemode, h.CustomerId, h.FeatureId, h.EntityId, h.Overage, OverageToRow(h.OveragePolicy), h.Unlimited, h.Allowance, h.Reset,
        Micros.From(h.Anchor), Micros.From(h.PeriodStart), h.NextResetAt is { } n ? Micros.From(n) : null, h.Rollover, h.RolloverMax, h.SubscriptionId,
        h.Version, Micros.From(h.UpdatedAt), h.OveragePrice,
    ];

    public async Task SaveBucketsAsync(IReadOnlyList<StoredBucket> buckets)
    {
        ForgetBooks(buckets, static b => (b.AccountId, b.Livemode, b.CustomerId));
        var fresh = buckets.Where(b => b.IsNew).ToList();
        await RowWriter.ExecuteAsync(s, InsertBucketSql, fresh, b =>
            [
                b.AccountId, b.Livemode, b.CustomerId, b.FeatureId, b.EntityId, b.Bucket.Id, BalanceWords.Wire(b.Bucket.Kind), b.Bucket.Priority,
                BalanceWords.Wire(b.Bucket.Category), b.Bucket.Granted, b.Bucket.Used, b.Bucket.Held, Micros.From(b.Bucket.EffectiveAt),
                b.Bucket.ExpiresAt is { } e ? Micros.From(e) : null, Micros.From(b.Bucket.CreatedAt), b.Bucket.Voided, b.Bucket.ExpiryRecorded, b.Name, b.Metadata,
            ]);
        var stored = buckets.Where(b => !b.IsNew).ToList();
        await RowWriter.ExecuteAsync(s, BucketUpdate[0], stored.Where(b => !b.StatusChanged).ToList(), b => BucketUpdateValues(b, status: false));
        await RowWriter.ExecuteAsync(s, BucketUpdate[1], stored.Where(b => b.StatusChanged).ToList(), b => BucketUpdateValues(b, status: true));
        foreach (var b in buckets) b.MarkStored();
    }

    /// <summary>
    /// A bucket's UPDATE; with <paramref name="status"/> false, its amounts only. A statement that assigns an indexed
    /// column rewrites that index's entry even when the value is the same, so a bucket whose expiry and status did
    /// not change (every check and track) must not assign them: each one otherwise also dirtied a page of
    /// balance_buckets_expiring, a third of the pages a uniform check wrote (one WAL frame and one checkpoint write
    /// each; ADR 0015 addendum).
    /// </summary>
    private static string BucketUpdateSql(bool status) => $"""
        UPDATE balance_buckets SET granted = @granted, used = @used, held = @held{(status ? ", voided = @voided, expiry_recorded = @expiry_recorded, expires_at = @expires_at" : "")}
        WHERE account_id = @account_id AND livemode = @livemode AND id = @id
        """;

    private static object?[] BucketUpdateValues(StoredBucket b, bool status) => status
        ? [
            b.Bucket.Granted, b.Bucket.Used, b.Bucket.Held, b.Bucket.Voided, b.Bucket.ExpiryRecorded, b.Bucket.ExpiresAt is { } e ? Micros.From(e) : null,
            b.AccountId, b.Livemode, b.Bucket.Id,
        ]
        : [b.Bucket.Granted, b.Bucket.Used, b.Bucket.Held, b.AccountId, b.Livemode, b.Bucket.Id];

    /// <summary>A bucket's UPDATE of its amounts only, and with its status (built once).</summary>
    private static readonly string[] BucketUpdate = [BucketUpdateSql(status: false), BucketUpdateSql(status: true)];

    public Task InsertLocksAsync(IReadOnlyList<LockRecord> locks)
    {
        ForgetBooks(locks, static l => (l.AccountId, l.Livemode, l.CustomerId));
        return RowWriter.ExecuteAsync(s, InsertLockSql, locks, l =>
        [
            l.AccountId, l.Livemode, l.Id, l.CustomerId, l.FeatureId, l.EntityId, BalanceWords.Wire(l.Status), l.Held, l.Consumed, JsonSerializer.Serialize(l.Parts, KassaJson.Options),
            Micros.From(l.ExpiresAt), Micros.From(l.CreatedAt), l.FinalizedAt is { } f ? Micros.From(f) : null,
        ]);
    }

    public Task UpdateLocksAsync(IReadOnlyList<LockRecord> locks)
    {
        ForgetBooks(locks, static l => (l.AccountId, l.Livemode, l.CustomerId));
        return RowWriter.ExecuteAsync(s,
            "UPDATE locks SET status = @status, consumed = @consumed, finalized_at = @finalized_at WHERE account_id = @account_id AND livemode = @livemode AND id = @id",
            locks, l => [BalanceWords.Wire(l.Status), l.Consumed, l.FinalizedAt is { } f ? Micros.From(f) : null, l.AccountId, l.Livemode, l.Id]);
    }

    private const string UsageColumns = "account_id, livemode, id, customer_id, feature_id, entity_id, value, idempotency_key, response, occurred_at, created_at";

    public Task InsertUsageAsync(IReadOnlyList<UsageRecord> usage) =>
        RowWriter.ExecuteAsync(s, InsertUsageSql, usage, u =>
            [u.AccountId, u.Livemode, u.Id, u.CustomerId, u.FeatureId, u.EntityId, u.Value, u.IdempotencyKey, u.Response, Micros.From(u.OccurredAt), Micros.From(u.CreatedAt)]);

    public Task ReleaseIdempotencyKeysAsync(IReadOnlyList<UsageRecord> records) =>
        RowWriter.ExecuteAsync(s, "UPDATE usage_records SET idempotency_key = NULL, response = NULL WHERE account_id = @account_id AND livemode = @livemode AND id = @id",
            records, r => [r.AccountId, r.Livemode, r.Id]);

    public Task<int> ReleaseIdempotencyKeysOlderThanAsync(DateTimeOffset cutoff, int batchSizeMax) =>
        s.Connection.ExecuteAsync("""
            UPDATE usage_records SET idempotency_key = NULL, response = NULL
            WHERE (account_id, livemode, id) IN (
              SELECT account_id, livemode, id FROM usage_records WHERE idempotency_key IS NOT NULL AND created_at <= @cutoff LIMIT @batchSizeMax)
            """, new { cutoff = Micros.From(cutoff), batchSizeMax }, s.Transaction);

    public Task InsertTransactionsAsync(IReadOnlyList<CreditTransactionRecord> transactions) =>
        RowWriter.ExecuteAsync(s, InsertTransactionSql, transactions, t =>
            [t.AccountId, t.Livemode, t.Id, t.CustomerId, t.FeatureId, t.EntityId, BalanceWords.Wire(t.Type), t.Amount, t.BucketId, t.BalanceAfter, t.SourceType, t.SourceId, Micros.From(t.CreatedAt)]);

    private static readonly string ResetType = BalanceWords.Wire(MovementType.Reset);

    public async Task<IReadOnlyDictionary<string, long>> ResetOverageAsync(Tenant tenant, string customerId, IReadOnlyCollection<string> featureIds,
        DateTimeOffset from, DateTimeOffset to)
    {
        _booksAhead.Remove((tenant.AccountId, tenant.Livemode, customerId));
        var sums = new Dictionary<string, long>(StringComparer.Ordinal);
        if (featureIds.Count == 0) return sums;
        // The type as a literal: SQLite reads this through credit_transactions_resets, an index over those rows only,
        // and uses a partial index only for a query whose condition names its own (ADR 0018).
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT feature_id, SUM(amount) FROM credit_transactions
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND created_at > @from AND created_at <= @to
              AND type = '{ResetType}' AND {s.In("feature_id", "features", featureIds)}
            GROUP BY feature_id
            """, new { tenant.AccountId, tenant.Livemode, customerId, from = Micros.From(from), to = Micros.From(to),
                features = s.List(featureIds) }, s.Transaction);
        while (await r.ReadAsync()) sums[r.GetString(0)] = r.GetInt64(1);
        return sums;
    }

    private const string ReadCacheEpochSql = "SELECT value FROM balance_cache_epoch WHERE id = 1";
    private const string WriteCacheEpochSql = "UPDATE balance_cache_epoch SET value = @value WHERE id = 1";

    public async Task<long> ReadCacheEpochAsync()
    {
        if (s.Dialect.IsPostgres) throw new NotSupportedException("the balance cache epoch is SQLite's (ADR 0021)");
        return Raw(ReadCacheEpochSql, static r => r.GetInt64(0)) is [var value]
            ? value
            : await s.Connection.ExecuteScalarAsync<long>(ReadCacheEpochSql, transaction: s.Transaction);
    }

    public async Task WriteCacheEpochAsync(long token)
    {
        if (s.Dialect.IsPostgres) throw new NotSupportedException("the balance cache epoch is SQLite's (ADR 0021)");
        await RowWriter.ExecuteAsync(s, WriteCacheEpochSql, [token], static v => [v]);
    }

    public Task DeleteFlagAsync(Tenant tenant, string customerId, string featureId, string entityId)
    {
        _booksAhead.Remove((tenant.AccountId, tenant.Livemode, customerId));
        return s.Connection.ExecuteAsync("""
            DELETE FROM feature_balances
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND feature_id = @featureId AND entity_id = @entityId
            """, new { tenant.AccountId, tenant.Livemode, customerId, featureId, entityId }, s.Transaction);
    }

    public async Task<StoredBucket?> GetBucketAsync(Tenant tenant, string id) =>
        (await QueryBuckets($"SELECT {BucketColumns} FROM balance_buckets WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    /// <summary>
    /// A customer's grants are one statement and a tenant's another: SQLite's planner cannot seek on
    /// "@customerId IS NULL OR customer_id = @customerId", and walked the tenant's buckets and sorted them for one
    /// customer's page. With the customer's condition plain, balance_buckets_by_customer gives the page in order.
    /// </summary>
    public Task<IReadOnlyList<StoredBucket>> ListGrantsAsync(Tenant tenant, string? customerId, Cursor? after, int limit) =>
        QueryBuckets($"""
            SELECT {BucketColumns} FROM balance_buckets
            WHERE account_id = @AccountId AND livemode = @Livemode AND kind = 'grant'{(customerId is null ? "" : " AND customer_id = @customerId")}
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public async Task<IReadOnlyList<GrantTotals>> SummarizeGrantsAsync(Tenant tenant, string customerId, DateTimeOffset now)
    {
        // Live as Bucket.IsUsable says: not voided, effective, not yet expired.
        var live = $"""
            account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND kind = 'grant' AND {s.Dialect.IsFalse("voided")}
              AND effective_at <= @now AND (expires_at IS NULL OR expires_at > @now)
            """;
        var args = new { tenant.AccountId, tenant.Livemode, customerId, no = false, now = Micros.From(now) };
        var totals = new Dictionary<string, (long Granted, long Used, long Remaining)>(StringComparer.Ordinal);
        await using (var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT feature_id, CAST(SUM(granted) AS BIGINT), CAST(SUM(used) AS BIGINT),
                   CAST(SUM(CASE WHEN granted - used - held > 0 THEN granted - used - held ELSE 0 END) AS BIGINT)
            FROM balance_buckets WHERE {live} GROUP BY feature_id
            """, args, s.Transaction))
        {
            while (await r.ReadAsync())
                totals[r.GetString(0)] = (Convert.ToInt64(r.GetValue(1)), Convert.ToInt64(r.GetValue(2)), Convert.ToInt64(r.GetValue(3)));
        }
        var expiring = new Dictionary<string, (DateTimeOffset At, long Amount)>(StringComparer.Ordinal);
        await using (var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT feature_id, expires_at, CAST(SUM(granted - used - held) AS BIGINT) FROM balance_buckets b
            WHERE {live} AND expires_at IS NOT NULL AND granted - used - held > 0
              AND expires_at = (SELECT MIN(x.expires_at) FROM balance_buckets x
                                WHERE x.account_id = b.account_id AND x.livemode = b.livemode AND x.customer_id = b.customer_id
                                  AND x.feature_id = b.feature_id AND x.kind = 'grant' AND {s.Dialect.IsFalse("x.voided")} AND x.effective_at <= @now
                                  AND x.expires_at > @now AND x.granted - x.used - x.held > 0)
            GROUP BY feature_id, expires_at
            """, args, s.Transaction))
        {
            while (await r.ReadAsync()) expiring[r.GetString(0)] = (Micros.To(r.GetInt64(1)), Convert.ToInt64(r.GetValue(2)));
        }
        return totals.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
        {
            var next = expiring.TryGetValue(kv.Key, out var e) ? e : ((DateTimeOffset At, long Amount)?)null;
            return new GrantTotals(kv.Key, kv.Value.Granted, kv.Value.Used, kv.Value.Remaining, next?.At, next?.Amount ?? 0);
        }).ToList();
    }

    public async Task<IReadOnlyList<CreditTransactionRecord>> ListTransactionsAsync(Tenant tenant, string? customerId, string? featureId, Cursor? after, int limit)
    {
        var args = new
        {
            tenant.AccountId, tenant.Livemode, customerId, featureId, afterCreated = after?.CreatedMicros ?? 0,
            afterId = after?.Id ?? "", limit, bucket = customerId is null ? 0 : IndexRuns.Bucket(customerId),
        };
        // Only the filters asked for, so each statement's text names its own and the planner can seek on them (a
        // condition such as "@customerId IS NULL OR customer_id = @customerId" is no equality it can use).
        string Where(string p) =>
            $"{p}account_id = @AccountId AND {p}livemode = @Livemode" + (customerId is null ? "" : $" AND {p}customer_id = @customerId") +
            (featureId is null ? "" : " AND t.feature_id = @featureId") + (after is null ? "" : $" AND ({p}created_at, {p}id) < (@afterCreated, @afterId)");
        // PostgreSQL, and SQLite across customers: the table itself. SQLite by customer (ADR 0018), in one statement so
        // the watermark and every part are read at once: the movements behind the indexer's watermark are in the index
        // file's customer order or in one of the runs in front of it (in the customer's bucket), those at or above it
        // are read by position; a movement is in exactly one part. The part by position walks rowids (NOT INDEXED: the
        // planner otherwise took the primary key's tenant prefix and read every movement of the tenant, 50 ms at
        // 500,000); it holds the indexer's lag, a few thousand.
        var runs = IndexRuns.EachListedRun("credit_transaction_run_list", run => $"""
                UNION ALL
                SELECT * FROM (SELECT {Qualified("t.")} FROM credit_transaction_runs i CROSS JOIN credit_transactions t
                                 ON t.account_id = i.account_id AND t.livemode = i.livemode AND t.id = i.id
                               WHERE i.run = {run} AND i.bucket = @bucket AND {Where("i.")} ORDER BY i.created_at DESC, i.id DESC LIMIT @limit)

            """);
        var sql = s.Dialect.IsPostgres || customerId is null
            ? $"SELECT {TransactionColumns} FROM credit_transactions t WHERE {Where("t.")} ORDER BY created_at DESC, id DESC LIMIT @limit"
            : $"""
              SELECT {TransactionColumns} FROM (
                SELECT * FROM (SELECT {Qualified("t.")} FROM credit_transaction_index i CROSS JOIN credit_transactions t
                                 ON t.account_id = i.account_id AND t.livemode = i.livemode AND t.id = i.id
                               WHERE {Where("i.")} ORDER BY i.created_at DESC, i.id DESC LIMIT @limit)
              {runs}  UNION ALL
                SELECT * FROM (SELECT {Qualified("t.")} FROM credit_transactions t NOT INDEXED
                               WHERE t.rowid >= (SELECT watermark FROM credit_indexer WHERE id = 1) AND {Where("t.")} ORDER BY t.created_at DESC, t.id DESC LIMIT @limit))
              ORDER BY created_at DESC, id DESC LIMIT @limit
              """;
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<CreditTransactionRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new CreditTransactionRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), BalanceWords.Parse<MovementType>(r.GetString(6)),
                r.GetInt64(7), r.IsDBNull(8) ? null : r.GetString(8), r.GetInt64(9), r.IsDBNull(10) ? null : r.GetString(10), r.IsDBNull(11) ? null : r.GetString(11),
                Micros.To(r.GetInt64(12))));
        }
        return list;
    }

    /// <summary>The movement columns with a table alias, for the SQLite parts that join the index file.</summary>
    private static string Qualified(string alias) => string.Join(", ", TransactionColumns.Split(", ").Select(c => alias + c));

    /// <summary>
    /// SQLite's credit indexer, its read (ADR 0018), in a read session: the indexer's watermark and the committed
    /// movements at or above it by position, at most <paramref name="movementsMax"/>. Positions are rowids, which the
    /// single writer hands out in commit order and no statement deletes: every position this read sees is final.
    /// </summary>
    public async Task<CreditsToIndex> ReadCreditTransactionsToIndexAsync(int movementsMax)
    {
        if (s.Dialect.IsPostgres) throw new NotSupportedException("PostgreSQL keeps credit_transactions' customer index in the table");
        var watermark = await s.Connection.ExecuteScalarAsync<long>("SELECT watermark FROM credit_indexer WHERE id = 1", transaction: s.Transaction);
        var keys = new List<CreditIndexKey>();
        await using (var r = await s.Connection.ExecuteReaderAsync("""
            SELECT rowid, account_id, livemode, customer_id, created_at, id FROM credit_transactions WHERE rowid >= @watermark ORDER BY rowid LIMIT @movementsMax
            """, new { watermark, movementsMax }, s.Transaction))
        {
            while (await r.ReadAsync()) keys.Add(new CreditIndexKey(r.GetString(1), r.GetBoolean(2), r.GetString(3), r.GetInt64(4), r.GetString(5), r.GetInt64(0)));
        }
        return new CreditsToIndex(watermark, keys.Count == 0 ? watermark : keys[^1].Position + 1, keys);
    }

    /// <summary>
    /// SQLite's credit indexer, its write, in the index file's write transaction: the movements read into a run in
    /// front of the customer order, one bucket of customers moved from every run into it (<see cref="IndexRuns"/>), and
    /// the watermark moved past them — unless another pass moved it since the read (nothing written then).
    /// </summary>
    private static readonly string[] CreditOrderColumns = ["account_id", "livemode", "customer_id", "created_at", "id"];

    private static readonly string CreditMoveSql = IndexRuns.MoveSql("credit_transaction_index", "credit_transaction_runs", "credit_transaction_run_list",
        CreditOrderColumns, CreditOrderColumns, skipExisting: false);

    public async Task<int> IndexCreditTransactionsAsync(CreditsToIndex read, DateTimeOffset now)
    {
        // The watermark row first: it takes the index file's write lock at once (a deferred transaction), and the pass's number with it.
        var (watermark, pass) = await s.Connection.QuerySingleAsync<(long, long)>(
            "UPDATE credit_indexer SET passes = passes WHERE id = 1 RETURNING watermark, passes", transaction: s.Transaction);
        if (watermark != read.Watermark || read.Keys.Count == 0) return 0;
        var run = read.Keys.Select(k => (Bucket: IndexRuns.Bucket(k.CustomerId), Key: k)).ToList();
        // The run in its key order, so the insert walks its pages once, left to right.
        run.Sort(static (x, y) =>
        {
            var c = x.Bucket.CompareTo(y.Bucket);
            if (c == 0) c = string.CompareOrdinal(x.Key.AccountId, y.Key.AccountId);
            if (c == 0) c = x.Key.Livemode.CompareTo(y.Key.Livemode);
            if (c == 0) c = string.CompareOrdinal(x.Key.CustomerId, y.Key.CustomerId);
            if (c == 0) c = x.Key.CreatedMicros.CompareTo(y.Key.CreatedMicros);
            return c != 0 ? c : string.CompareOrdinal(x.Key.Id, y.Key.Id);
        });
        // No ON CONFLICT: a movement is indexed by the one pass that moves the watermark past it (checked above, under
        // the file's lock), so a key already there would mean a pass repeated — refused rather than skipped.
        await RowWriter.ExecuteAsync(s, """
            INSERT INTO credit_transaction_runs (run, bucket, account_id, livemode, customer_id, created_at, id) VALUES (@run, @bucket, @a, @l, @customer, @created, @id)
            """, run, e => [watermark, e.Bucket, e.Key.AccountId, e.Key.Livemode, e.Key.CustomerId, e.Key.CreatedMicros, e.Key.Id]);
        // The move and the list's upkeep (IndexRuns.MoveSql), with the watermark.
        await s.Connection.ExecuteAsync($"""
            {CreditMoveSql}
            UPDATE credit_indexer SET watermark = @upper, passes = passes + 1, indexed_movements = indexed_movements + @count, updated_at = @now WHERE id = 1;
            """, new { watermark, pass, moving = (int)(pass % IndexRuns.Buckets), upper = read.Upper, count = run.Count, now = Micros.From(now) }, s.Transaction);
        return run.Count;
    }

    public async Task<IReadOnlyList<(Tenant Tenant, string CustomerId)>> DueForMaintenanceAsync(DateTimeOffset now, int limit)
    {
        // Literal conditions, so the partial index balance_buckets_expiring applies (see SqlDialect.IsFalse).
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT account_id, livemode, customer_id FROM (
              SELECT account_id, livemode, customer_id FROM feature_balances WHERE next_reset_at <= @now
              UNION
              SELECT account_id, livemode, customer_id FROM balance_buckets
              WHERE expires_at <= @now AND {s.Dialect.IsFalse("expiry_recorded")} AND {s.Dialect.IsFalse("voided")}
            ) due
            WHERE NOT EXISTS ({OnTestClock("due")})
            LIMIT @limit
            """, new { now = Micros.From(now), limit }, s.Transaction);
        var list = new List<(Tenant, string)>();
        while (await r.ReadAsync()) list.Add((new Tenant(r.GetString(0), r.GetBoolean(1)), r.GetString(2)));
        return list;
    }

    public Task SetDeferredAsync(StoredBucket b, long amountMinor, string currency) =>
        s.Connection.ExecuteAsync("""
            UPDATE balance_buckets SET deferred_amount = @amountMinor, deferred_currency = @currency
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id
            """, new { b.AccountId, b.Livemode, id = b.Bucket.Id, amountMinor, currency }, s.Transaction);

    public async Task<IReadOnlyList<DeferredBucket>> DeferredAsync(DeferredBucket? after, int limit)
    {
        // The partial index balance_buckets_deferred holds exactly these rows, in this order.
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT account_id, livemode, customer_id, feature_id, entity_id, id, granted, used, voided, deferred_amount, deferred_currency, recognized_amount
            FROM balance_buckets WHERE deferred_amount > recognized_amount
              AND (@first OR (account_id, livemode, customer_id, feature_id, entity_id, id) > (@a, @l, @c, @f, @e, @i))
            ORDER BY account_id, livemode, customer_id, feature_id, entity_id, id LIMIT @limit{s.Dialect.ForUpdate}
            """, new
            {
                first = after is null, a = after?.AccountId ?? "", l = after?.Livemode ?? false, c = after?.CustomerId ?? "", f = after?.FeatureId ?? "",
                e = after?.EntityId ?? "", i = after?.Id ?? "", limit,
            }, s.Transaction);
        var list = new List<DeferredBucket>();
        while (await r.ReadAsync())
            list.Add(new DeferredBucket(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt64(6), r.GetInt64(7),
                r.GetBoolean(8), r.GetInt64(9), r.GetString(10), r.GetInt64(11)));
        return list;
    }

    public Task SetRecognizedAsync(DeferredBucket b, long recognizedMinor) =>
        s.Connection.ExecuteAsync("""
            UPDATE balance_buckets SET recognized_amount = @recognizedMinor
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, new { b.AccountId, b.Livemode, b.Id, recognizedMinor }, s.Transaction);

    public Task<IReadOnlyList<LockRecord>> ExpiredLocksAsync(DateTimeOffset now, int limit) =>
        QueryLocks($"SELECT {LockColumns} FROM locks WHERE status = 'held' AND expires_at <= @now AND NOT EXISTS ({OnTestClock("locks")}) ORDER BY expires_at LIMIT @limit",
            new { now = Micros.From(now), limit });

    // A test clock's customers live in the clock's time: their locks, resets and expiries are run by the
    // clock's advance at the clock's instants (AdvanceTestClock), never by real-time maintenance.
    private static string OnTestClock(string table) =>
        $"SELECT 1 FROM customers c WHERE c.account_id = {table}.account_id AND c.livemode = {table}.livemode AND c.id = {table}.customer_id AND c.test_clock_id IS NOT NULL";

    // No row limit: the requested ids are bounded by the batch (at most BalanceEngine.BatchSizeMax
    // distinct features), and every credit system must be seen, or a feature drawn from one would be
    // decided as not found. (A fixed LIMIT here once dropped features past the 200th in a busy batch.)
    private string FeaturesSql(IReadOnlyCollection<string> featureIds) => Text(nameof(FeaturesSql), Shape(featureIds), () => BuildFeaturesSql(featureIds));

    private string BuildFeaturesSql(IReadOnlyCollection<string> featureIds) => $"""
        SELECT {SqlCatalog.FeatureColumns} FROM features
        WHERE account_id = @AccountId AND livemode = @Livemode AND ({In("id", "features", featureIds)} OR type = 'credit_system')
        ORDER BY created_at, id
        """;

    /// <summary>
    /// The features with every credit system, read raw on SQLite (ADR 0019): a check without send_event reads them on
    /// every request, where Dapper's reader was 14 % of the request's samples (bench/README.md, seventeenth session).
    /// </summary>
    public async Task<IReadOnlyList<FeatureRecord>> FeaturesWithCreditSystemsAsync(Tenant tenant, IReadOnlyCollection<string> featureIds)
    {
        var sql = FeaturesSql(featureIds);
        var features = List(featureIds);
        return Raw(sql, SqlCatalog.ReadFeature, ("AccountId", tenant.AccountId), ("Livemode", tenant.Livemode), ("features", features))
            ?? await ((SqlCatalog)s.Catalog).QueryFeaturesAsync(sql, new { tenant.AccountId, tenant.Livemode, features });
    }

    private async Task<IReadOnlyList<StoredBucket>> QueryBuckets(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        return await ReadAllAsync(r, ReadBucket);
    }

    private static StoredBucket ReadBucket(DbDataReader r)
    {
        var bucket = new Bucket(r.GetString(5), BalanceWords.Parse<BucketKind>(r.GetString(6)), r.GetInt32(7),
            BalanceWords.Parse<GrantCategory>(r.GetString(8)), r.GetInt64(9), r.GetInt64(10), r.GetInt64(11), Micros.To(r.GetInt64(12)),
            r.IsDBNull(13) ? null : Micros.To(r.GetInt64(13)), Micros.To(r.GetInt64(14)), r.GetBoolean(15)) { ExpiryRecorded = r.GetBoolean(16) };
        var stored = new StoredBucket
        {
            AccountId = r.GetString(0), Livemode = r.GetBoolean(1), CustomerId = r.GetString(2), FeatureId = r.GetString(3), EntityId = r.GetString(4),
            Bucket = bucket, Name = r.IsDBNull(17) ? null : r.GetString(17), Metadata = r.IsDBNull(18) ? null : r.GetString(18),
        };
        stored.MarkStored();
        return stored;
    }

    private async Task<IReadOnlyList<LockRecord>> QueryLocks(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        return await ReadAllAsync(r, ReadLock);
    }

    private static LockRecord ReadLock(DbDataReader r) =>
        new(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), BalanceWords.Parse<LockStatus>(r.GetString(6)), r.GetInt64(7),
            r.IsDBNull(8) ? null : r.GetInt64(8), JsonSerializer.Deserialize<List<Part>>(r.GetString(9), KassaJson.Options) ?? [],
            Micros.To(r.GetInt64(10)), Micros.To(r.GetInt64(11)), r.IsDBNull(12) ? null : Micros.To(r.GetInt64(12)));
}
