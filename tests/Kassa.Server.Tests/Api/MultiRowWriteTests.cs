using Kassa.Core.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// The balance store's multi-row writes on both engines (on PostgreSQL one INSERT over arrays per table,
/// ADR 0013): every column comes back as written, nulls included, in text, bigint, integer and boolean
/// columns; an INSERT … ON CONFLICT DO NOTHING of rows already there stores nothing twice; and the batch
/// load reads the rows back with the headers, buckets and keyed usage of each customer.
/// </summary>
public abstract class MultiRowWriteTests(KassaHost host)
{
    private static readonly DateTimeOffset At = DateTimeOffset.Parse("2026-12-02T10:00:00.123456Z");

    private static BalanceHeader Header(Tenant t, string customer, long? rolloverMax) => new()
    {
        AccountId = t.AccountId, Livemode = t.Livemode, CustomerId = customer, FeatureId = "api_calls", OveragePolicy = OveragePolicy.Blocked,
        Reset = "month", Allowance = 5_000_000, Anchor = At, PeriodStart = At, NextResetAt = rolloverMax is null ? null : At.AddMonths(1),
        Rollover = rolloverMax is not null, RolloverMax = rolloverMax, UpdatedAt = At, IsNew = true,
    };

    private static StoredBucket Bucket(Tenant t, string customer, string id, int priority, DateTimeOffset? expires, string? name) => new()
    {
        AccountId = t.AccountId, Livemode = t.Livemode, CustomerId = customer, FeatureId = "api_calls", Name = name,
        Bucket = new Bucket(id, BucketKind.Grant, priority, GrantCategory.Paid, 3_000_000, 1_000_000, 0, At, expires, At), IsNew = true,
    };

    /// <summary>
    /// Rows that requests hold for the commit (as grants do) join there on PostgreSQL, one INSERT per table over
    /// several requests, moving earlier only past writes to other tables: an UPDATE naming a bucket before that
    /// bucket's INSERT still runs first (it changes nothing), while the credit movements join past it.
    /// </summary>
    [Fact]
    public async Task Held_inserts_of_several_requests_join_at_the_commit_but_never_across_a_write_to_their_table()
    {
        var tenant = new Tenant((await host.NewAccountAsync()).AccountId, false);
        var customer = Wire.NewId("cus");
        CreditTransactionRecord Movement(string bucket, long amount) =>
            new(tenant.AccountId, false, Wire.NewId("ctx"), customer, "api_calls", "", MovementType.Grant, amount, bucket, amount, "credit_grant", bucket, At);
        var joinedBefore = Kassa.Storage.SqlSession.HeldRowsJoined;
        await host.Store.WriteAsync(async s =>
        {
            await s.Balances.SaveHeadersAsync([Header(tenant, customer, null)]);
            await s.Balances.WriteTogetherAsync(async () =>
            {
                await s.Balances.SaveBucketsAsync([Bucket(tenant, customer, "bkt_a", 1, null, null)]);
                await s.Balances.InsertTransactionsAsync([Movement("bkt_a", 3_000_000)]);
            }, deferred: true);
            var early = Bucket(tenant, customer, "bkt_b", 2, null, null);
            early.IsNew = false;
            early.Bucket.Used = 7;
            await s.Balances.WriteTogetherAsync(() => s.Balances.SaveBucketsAsync([early]), deferred: true);
            foreach (var id in new[] { "bkt_b", "bkt_c" })
            {
                await s.Balances.WriteTogetherAsync(async () =>
                {
                    await s.Balances.SaveBucketsAsync([Bucket(tenant, customer, id, 3, null, null)]);
                    await s.Balances.InsertTransactionsAsync([Movement(id, 3_000_000)]);
                }, deferred: true);
            }
            return true;
        });
        var book = await host.Store.ReadAsync(s => s.Balances.LoadBookAsync(new BookQuery(tenant, [customer], ForUpdate: false, At, CustomersKnownToExist: true, [], [])));
        Assert.Equal([("bkt_a", 1_000_000L), ("bkt_b", 1_000_000L), ("bkt_c", 1_000_000L)], book.Buckets.OrderBy(b => b.Bucket.Id).Select(b => (b.Bucket.Id, b.Bucket.Used)));
        var movements = await host.Store.ReadAsync(s => s.Balances.ListTransactionsAsync(tenant, customer, null, null, 10));
        Assert.Equal(["bkt_a", "bkt_b", "bkt_c"], movements.Select(m => m.BucketId).Order());
        // The three movements as one statement, bkt_b and bkt_c as another (bkt_a stays apart: the UPDATE lies between).
        if (host.Store.Engine == "postgres") Assert.True(Kassa.Storage.SqlSession.HeldRowsJoined - joinedBefore >= 5);
    }

    /// <summary>
    /// The outbox events and audit records a transaction holds to its commit (as a batch of a few customer updates does)
    /// go on PostgreSQL as one INSERT per table over arrays, however few they are, and read back exactly. Until 2026-12-07
    /// up to eight rows a table went as a statement each: they were held in the commit's own batch, which the join did not see.
    /// </summary>
    [Fact]
    public async Task A_commits_few_outbox_events_and_audit_records_go_as_one_statement_a_table_and_read_back_exactly()
    {
        var tenant = new Tenant((await host.NewAccountAsync()).AccountId, false);
        var customer = Wire.NewId("cus");
        var events = Enumerable.Range(0, 3).Select(i => new EventRecord(tenant.AccountId, false, Wire.NewId("evt"), "customer.updated", "customer", customer,
            $"{{\"object\":{{\"id\":\"{customer}\",\"n\":{i}}}}}", i == 1 ? null : $"req_{i}", At.AddSeconds(i))).ToList();
        var audit = Enumerable.Range(0, 3).Select(i => new AuditRecord(tenant.AccountId, false, Wire.NewId("aud"), At.AddSeconds(i), "api_key", "key_1",
            "customer.updated", "customer", customer, $"req_{i}", i == 0 ? [] : ["name", $"field_{i}"])).ToList();
        Kassa.Storage.SqlSession? session = null;
        await host.Store.WriteAsync(async s =>
        {
            session = (Kassa.Storage.SqlSession)s;
            foreach (var e in events) await s.Events.AppendAsync(e);
            foreach (var a in audit) await s.Audit.AppendAsync(a);
            return true;
        });
        // Three events joined into one statement and three audit records into another; SQLite writes row by row in process.
        Assert.Equal(host.Store.Engine == "postgres" ? 6 : 0, session!.RowsJoined);
        var storedEvents = await host.Store.ReadAsync(s => s.Events.ListAsync(tenant, new EventFilter(null, customer), null, 10));
        Assert.Equal(events.Select(e => (e.Id, e.Data, e.RequestId, e.CreatedAt)).OrderBy(e => e.Id),
            storedEvents.Select(e => (e.Id, e.Data, e.RequestId, e.CreatedAt)).OrderBy(e => e.Id));
        var storedAudit = await host.Store.ReadAsync(s => s.Audit.ListAsync(tenant, new AuditFilter(customer, null, null, null), null, 10));
        Assert.Equal(audit.Select(a => (a.Id, a.RequestId, a.CreatedAt, string.Join(",", a.ChangedFields))).OrderBy(a => a.Id),
            storedAudit.Select(a => (a.Id, a.RequestId, a.CreatedAt, string.Join(",", a.ChangedFields))).OrderBy(a => a.Id));
    }

    [Fact]
    public async Task Rows_written_together_read_back_exactly_with_their_nulls_and_a_repeated_insert_stores_nothing_twice()
    {
        var tenant = new Tenant((await host.NewAccountAsync()).AccountId, false);
        string[] customers = [Wire.NewId("cus"), Wire.NewId("cus")];
        var transactions = new[]
        {
            new CreditTransactionRecord(tenant.AccountId, false, Wire.NewId("ctx"), customers[0], "api_calls", "", MovementType.Consume, -2_500_000, "bkt_a", 500_000, "track", "req_1", At),
            new CreditTransactionRecord(tenant.AccountId, false, Wire.NewId("ctx"), customers[0], "api_calls", "ent_1", MovementType.Grant, 7_000_000, null, 7_500_000, null, null, At.AddSeconds(1)),
            new CreditTransactionRecord(tenant.AccountId, false, Wire.NewId("ctx"), customers[1], "api_calls", "", MovementType.Consume, -1, null, -1, "check", "req_2", At.AddSeconds(2)),
        };
        var usage = new[]
        {
            new UsageRecord(tenant.AccountId, false, Wire.NewId("use"), customers[0], "api_calls", "", 2_500_000, "key-1", "{\"allowed\":true}", At, At),
            new UsageRecord(tenant.AccountId, false, Wire.NewId("use"), customers[1], "api_calls", "", 1, null, null, At, At),
        };
        await host.Store.WriteAsync(async s =>
        {
            await s.Balances.WriteTogetherAsync(async () =>
            {
                await s.Balances.SaveHeadersAsync([Header(tenant, customers[0], 2_000_000), Header(tenant, customers[1], null)]);
                await s.Balances.SaveBucketsAsync([Bucket(tenant, customers[0], "bkt_a", 7, At.AddDays(30), "Promo"), Bucket(tenant, customers[0], "bkt_b", -3, null, null)]);
                await s.Balances.InsertTransactionsAsync(transactions);
                await s.Balances.InsertUsageAsync(usage);
            });
            return true;
        });
        // The same new headers again: ON CONFLICT DO NOTHING, one row each.
        await host.Store.WriteAsync(async s =>
        {
            await s.Balances.SaveHeadersAsync([Header(tenant, customers[0], 9), Header(tenant, customers[1], 9)]);
            return true;
        });

        var listed = await host.Store.ReadAsync(s => s.Balances.ListTransactionsAsync(tenant, null, null, null, 10));
        Assert.Equal(transactions.OrderByDescending(t => t.CreatedAt).ToList(), listed);

        var rows = await host.Store.ReadAsync(s => s.Balances.LoadBookAsync(new BookQuery(tenant, customers, ForUpdate: false, At, CustomersKnownToExist: true,
            ["api_calls"], ["key-1", "key-2"])));
        Assert.Equal(2, rows.Headers.Count);
        var first = rows.Headers.Single(h => h.CustomerId == customers[0]);
        Assert.Equal((2_000_000L, true, At.AddMonths(1)), (first.RolloverMax!.Value, first.Rollover, first.NextResetAt!.Value));
        var second = rows.Headers.Single(h => h.CustomerId == customers[1]);
        Assert.Equal(((long?)null, false, (DateTimeOffset?)null), (second.RolloverMax, second.Rollover, second.NextResetAt));
        Assert.False(first.Changed);

        var buckets = rows.Buckets.OrderBy(b => b.Bucket.Id).ToList();
        Assert.Equal(["bkt_a", "bkt_b"], buckets.Select(b => b.Bucket.Id));
        Assert.Equal((7, At.AddDays(30), "Promo", 3_000_000L, 1_000_000L), (buckets[0].Bucket.Priority, buckets[0].Bucket.ExpiresAt!.Value, buckets[0].Name!, buckets[0].Bucket.Granted, buckets[0].Bucket.Used));
        Assert.Equal((-3, (DateTimeOffset?)null, (string?)null), (buckets[1].Bucket.Priority, buckets[1].Bucket.ExpiresAt, buckets[1].Name));

        var keyed = Assert.Single(rows.Usage);
        Assert.Equal(usage[0], keyed);
        Assert.Empty(rows.HeldLocks);
    }

    /// <summary>
    /// Several rows' UPDATEs in one save (on PostgreSQL one UPDATE joined to arrays of the rows' values):
    /// exactly the rows named change, each to its own values, with amounts and status in separate statements;
    /// two customers' headers in one statement; another customer's bucket stays as it was.
    /// </summary>
    [Fact]
    public async Task Rows_updated_together_each_get_their_own_values_and_no_other_row_changes()
    {
        var tenant = new Tenant((await host.NewAccountAsync()).AccountId, false);
        string[] customers = [Wire.NewId("cus"), Wire.NewId("cus")];
        await host.Store.WriteAsync(async s =>
        {
            await s.Balances.SaveHeadersAsync([Header(tenant, customers[0], 2_000_000), Header(tenant, customers[1], 4_000_000)]);
            await s.Balances.SaveBucketsAsync([Bucket(tenant, customers[0], "bkt_a", 1, null, null), Bucket(tenant, customers[0], "bkt_b", 2, null, null),
                Bucket(tenant, customers[0], "bkt_c", 3, At.AddDays(30), null), Bucket(tenant, customers[0], "bkt_d", 4, At.AddDays(30), null),
                Bucket(tenant, customers[1], "bkt_e", 5, null, null)]);
            return true;
        });
        var loaded = await host.Store.ReadAsync(s => s.Balances.LoadBookAsync(new BookQuery(tenant, [customers[0]], ForUpdate: false, At,
            CustomersKnownToExist: true, ["api_calls"], [])));
        var byId = loaded.Buckets.ToDictionary(b => b.Bucket.Id);
        // Amounts only (bkt_a, bkt_b) and with status (bkt_c, bkt_d): two statements of two rows each.
        byId["bkt_a"].Bucket.Used = 1_500_000;
        (byId["bkt_b"].Bucket.Used, byId["bkt_b"].Bucket.Held) = (7, 3);
        byId["bkt_c"].Bucket.Voided = true;
        (byId["bkt_d"].Bucket.ExpiryRecorded, byId["bkt_d"].Bucket.Granted) = (true, 2_000_000);
        var header = loaded.Headers.Single();
        header.Allowance = 6_000_000;
        var other = (await host.Store.ReadAsync(s => s.Balances.LoadBookAsync(new BookQuery(tenant, [customers[1]], ForUpdate: false, At,
            CustomersKnownToExist: true, ["api_calls"], [])))).Headers.Single();
        other.Allowance = 7_000_000;
        await host.Store.WriteAsync(async s =>
        {
            await s.Balances.WriteTogetherAsync(async () =>
            {
                await s.Balances.SaveBucketsAsync([.. byId.Values]);
                await s.Balances.SaveHeadersAsync([header, other]);
            });
            return true;
        });

        var after = await host.Store.ReadAsync(s => s.Balances.LoadBookAsync(new BookQuery(tenant, customers, ForUpdate: false, At.AddDays(1),
            CustomersKnownToExist: true, ["api_calls"], [])));
        var read = after.Buckets.ToDictionary(b => b.Bucket.Id, b => (b.Bucket.Granted, b.Bucket.Used, b.Bucket.Held, b.Bucket.Voided, b.Bucket.ExpiryRecorded));
        // The load leaves out a voided bucket (bkt_c).
        Assert.Equal(new Dictionary<string, (long, long, long, bool, bool)>
        {
            ["bkt_a"] = (3_000_000, 1_500_000, 0, false, false),
            ["bkt_b"] = (3_000_000, 7, 3, false, false),
            ["bkt_d"] = (2_000_000, 1_000_000, 0, false, true),
            ["bkt_e"] = (3_000_000, 1_000_000, 0, false, false),
        }, read);
        var headers = after.Headers.ToDictionary(h => h.CustomerId);
        Assert.Equal((6_000_000L, At.AddMonths(1)), (headers[customers[0]].Allowance, headers[customers[0]].NextResetAt!.Value));
        Assert.Equal((7_000_000L, At.AddMonths(1)), (headers[customers[1]].Allowance, headers[customers[1]].NextResetAt!.Value));
    }

    /// <summary>
    /// One row named twice in one multi-row UPDATE: the statements apply in order (the later values win), as one
    /// statement a row would; joined to arrays, PostgreSQL would apply either row's values once.
    /// </summary>
    [Fact]
    public async Task A_row_updated_twice_in_one_write_ends_with_the_later_values()
    {
        var tenant = new Tenant((await host.NewAccountAsync()).AccountId, false);
        var customer = Wire.NewId("cus");
        await host.Store.WriteAsync(async s =>
        {
            await s.Balances.SaveHeadersAsync([Header(tenant, customer, null)]);
            await s.Balances.SaveBucketsAsync([Bucket(tenant, customer, "bkt_a", 1, null, null), Bucket(tenant, customer, "bkt_b", 2, null, null)]);
            return true;
        });
        (long Used, string Id)[] rows = [(11, "bkt_a"), (12, "bkt_b"), (13, "bkt_a")];
        const string sql = "UPDATE balance_buckets SET used = @used WHERE account_id = @account_id AND livemode = @livemode AND id = @id";
        await host.Store.WriteAsync(async s =>
        {
            var session = (Kassa.Storage.SqlSession)s;
            if (session.Native is Npgsql.NpgsqlConnection pg)
            {
                // Which of two rows for one key PostgreSQL's join applies depends on the plan, so the refusal is asserted itself.
                var statement = await Kassa.Storage.MultiRowStatement.ForAsync(pg, sql);
                Assert.NotNull(statement);
                Assert.Null(statement.Command([.. rows.Select(r => new object?[] { r.Used, tenant.AccountId, false, r.Id })]));
                Assert.NotNull(statement.Command([.. rows.Take(2).Select(r => new object?[] { r.Used, tenant.AccountId, false, r.Id })]));
            }
            await Kassa.Storage.RowWriter.ExecuteAsync(session, sql, rows, r => [r.Used, tenant.AccountId, false, r.Id]);
            return true;
        });
        var after = await host.Store.ReadAsync(s => s.Balances.LoadBookAsync(new BookQuery(tenant, [customer], ForUpdate: false, At,
            CustomersKnownToExist: true, ["api_calls"], [])));
        Assert.Equal([("bkt_a", 13L), ("bkt_b", 12L)], after.Buckets.OrderBy(b => b.Bucket.Id).Select(b => (b.Bucket.Id, b.Bucket.Used)));
    }
}

public sealed class MultiRowWriteTestsSqlite(SqliteHost host) : MultiRowWriteTests(host), IClassFixture<SqliteHost>;

public sealed class MultiRowWriteTestsPostgres(PostgresHost host) : MultiRowWriteTests(host), IClassFixture<PostgresHost>;
