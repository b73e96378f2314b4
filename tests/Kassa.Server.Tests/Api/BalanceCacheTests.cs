using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Kassa.Engine.Balances;
using Kassa.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// The SQLite balance writer keeps what it wrote in memory between batches (ADR 0021): every decision it takes
/// from memory must be the one a fresh load would give, whoever else changed the balance in between (the
/// mutation writer, another connection as another process would, a deletion) and whatever time did to its
/// buckets. Both engines (PostgreSQL loads every batch: the same answers, no memory).
/// </summary>
public abstract class BalanceCacheTests(KassaHost host)
{
    private BalanceEngine Engine => host.Services.GetRequiredService<BalanceEngine>();

    private async Task<(string Customer, string Feature)> Subscribed(int included)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var (feature, product, customer) = ($"calls_{suffix}", $"plan_{suffix}", $"mem_{suffix}");
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id = feature, name = "Calls", type = "metered" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/products", new
        {
            id = product, name = "Plan", features = new[] { new { feature_id = feature, included, reset = "month" } },
        })).Status);
        await host.Client().Put($"/v1/customers/{customer}", new { name = "Memory" });
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        return (customer, feature);
    }

    private async Task<(decimal Granted, decimal Used, decimal Remaining)> Track(string customer, string feature, decimal value)
    {
        var r = await host.Client().Post("/v1/track", new { customer_id = customer, feature_id = feature, value });
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var b = r.Body!["balance"]!;
        return ((decimal)b["granted"]!, (decimal)b["used"]!, (decimal)b["remaining"]!);
    }

    /// <summary>The writer's memory; null on PostgreSQL, which keeps none (a test about memory ends there).</summary>
    private BalanceCache? MemoryOnSqlite()
    {
        if (Engine.Cache is { } memory) return memory;
        Assert.Equal("postgres", host.Engine);
        return null;
    }

    private Kassa.Engine.Common.Tenant Tenant => new(host.Account.AccountId, false);

    /// <summary>Customers the writer took from memory so far (0 on PostgreSQL, which keeps none).</summary>
    private long Hits => Engine.Cache?.Hits ?? 0;

    private void AssertFromMemory(long hitsBefore)
    {
        if (host.Engine == "sqlite") Assert.True(Hits > hitsBefore, "the writer should have decided this one from memory");
        else Assert.Null(Engine.Cache);
    }

    /// <summary>
    /// A later migration that rebuilds one of these tables (SQLite's ALTER TABLE cannot do everything) drops its
    /// triggers with it, and the writer would then trust memory another writer had made stale: this names them all.
    /// </summary>
    [Fact]
    public async Task Every_table_a_balance_book_loads_moves_the_epoch_by_trigger()
    {
        host.RequireEngine();
        if (host is not SqliteHost sqlite)
        {
            Assert.Null(Engine.Cache);
            return;
        }
        await using var c = new SqliteConnection($"Data Source={sqlite.DatabasePath};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        var triggers = (await c.QueryAsync<(string Table, string Sql)>("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"))
            .Where(t => t.Sql.Contains("UPDATE balance_cache_epoch SET value = value + 1", StringComparison.Ordinal))
            .Select(t => (t.Table, Event: t.Sql.Contains("AFTER INSERT", StringComparison.Ordinal) ? "insert"
                : t.Sql.Contains("AFTER UPDATE OF deleted_at", StringComparison.Ordinal) ? "delete_mark"
                : t.Sql.Contains("AFTER UPDATE", StringComparison.Ordinal) ? "update" : "delete"))
            .Order().ToList();
        string[] tables = ["balance_buckets", "feature_balances", "locks", "spend_caps"];
        var expected = tables.SelectMany(t => new[] { (t, "delete"), (t, "insert"), (t, "update") })
            .Append(("customers", "delete")).Append(("customers", "delete_mark")).Order().ToList();
        Assert.Equal(expected, triggers);
    }

    [Fact]
    public async Task A_remembered_balance_follows_a_grant_a_void_and_a_deletion_by_the_mutation_writer()
    {
        var (customer, feature) = await Subscribed(100);
        Assert.Equal((100m, 10m, 90m), await Track(customer, feature, 10));
        var hits = Hits;
        Assert.Equal((100m, 20m, 80m), await Track(customer, feature, 10));
        AssertFromMemory(hits);

        var grant = await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 50, category = "paid" });
        Assert.Equal(HttpStatusCode.Created, grant.Status);
        // The grant took the balance from memory and kept it there with its bucket (ADR 0021): the next track
        // decides from memory and sees the grant.
        hits = Hits;
        Assert.Equal((150m, 21m, 129m), await Track(customer, feature, 1));
        AssertFromMemory(hits);
        Assert.Equal((150m, 22m, 128m), await Track(customer, feature, 1));

        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post($"/v1/credit_grants/{(string)grant.Body!["id"]!}/void")).Status);
        Assert.Equal((100m, 23m, 77m), await Track(customer, feature, 1));

        Assert.Equal(HttpStatusCode.OK, (await host.Client().Delete($"/v1/customers/{customer}")).Status);
        var gone = await host.Client().Post("/v1/track", new { customer_id = customer, feature_id = feature, value = 1 });
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
        Assert.Equal("resource_missing", (string?)gone.Body!["error"]!["code"]);
    }

    /// <summary>
    /// A grant over a remembered balance writes the customer's entry back in place, one row more, rather than a new
    /// entry: what a keep allocates outlives the request and is what the GC copies on every collection (bench/README.md,
    /// twenty-fourth and twenty-fifth sessions). A grant that opens a new balance (another feature) makes a new entry,
    /// with both balances.
    /// </summary>
    [Fact]
    public async Task A_grant_over_a_remembered_balance_keeps_its_entry_and_a_new_balance_makes_a_new_one()
    {
        var (customer, feature) = await Subscribed(100);
        Assert.Equal((100m, 10m, 90m), await Track(customer, feature, 10));
        if (MemoryOnSqlite() is not { } memory) return;
        var tenant = Tenant;
        var before = memory.Peek(tenant, customer);
        Assert.NotNull(before);
        var bucketsBefore = before!.Balances.Single().Count;
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/credit_grants",
            new { customer_id = customer, feature_id = feature, amount = 50, category = "paid" })).Status);
        var after = memory.Peek(tenant, customer);
        Assert.Same(before, after);
        Assert.Equal(bucketsBefore + 1, after!.Balances.Single().Count);
        var hits = Hits;
        Assert.Equal((150m, 11m, 139m), await Track(customer, feature, 1));
        AssertFromMemory(hits);

        var other = $"other_{Guid.NewGuid():N}"[..16];
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id = other, name = "Other", type = "metered" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/credit_grants",
            new { customer_id = customer, feature_id = other, amount = 5, category = "paid" })).Status);
        var opened = memory.Peek(tenant, customer);
        Assert.NotNull(opened);
        Assert.NotSame(after, opened);
        Assert.Equal([feature, other], opened!.Balances.Select(b => b.Header.FeatureId).Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>
    /// A batch takes a customer's entry out of memory and puts it back. It goes back under the key its first keep made,
    /// never under the strings of the request that took it: those are young objects, and an old slot pointing at them is
    /// scanned and copied by every collection after (CachedCustomer.Key). Every request below parses its own copy of the
    /// customer's id.
    /// </summary>
    [Fact]
    public async Task A_remembered_entry_goes_back_under_its_first_keys_strings_whichever_request_took_it()
    {
        var (customer, feature) = await Subscribed(100);
        Assert.Equal((100m, 1m, 99m), await Track(customer, feature, 1));
        if (MemoryOnSqlite() is not { } memory) return;
        var tenant = Tenant;
        var entry = memory.Peek(tenant, customer)!;
        var key = entry.Key!.Value;
        Assert.Equal((host.Account.AccountId, false, customer), key);
        Assert.NotSame(customer, key.CustomerId);
        for (var i = 2; i <= 4; i++)
        {
            var hits = Hits;
            Assert.Equal((100m, i, 100m - i), await Track(customer, feature, 1));
            AssertFromMemory(hits);
            var again = memory.Peek(tenant, new string(customer.AsSpan()))!;
            Assert.Same(entry, again);
            Assert.Same(key.CustomerId, again.Key!.Value.CustomerId);
            var stored = memory.StoredKey(tenant, customer)!.Value;
            Assert.Same(key.CustomerId, stored.CustomerId);
            Assert.Same(key.AccountId, stored.AccountId);
        }
    }

    [Fact]
    public async Task A_grant_to_a_customer_deleted_after_its_balance_was_remembered_is_refused()
    {
        // A grant over a remembered balance does not read the customer's row again (SQLite): the deletion must reach
        // it through the epoch, or credits would land on a deleted customer.
        var (customer, feature) = await Subscribed(100);
        Assert.Equal((100m, 10m, 90m), await Track(customer, feature, 10));
        var hits = Hits;
        var kept = await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 5, category = "paid" });
        Assert.Equal(HttpStatusCode.Created, kept.Status);
        AssertFromMemory(hits);
        Assert.Equal((105m, 11m, 94m), await Track(customer, feature, 1));

        Assert.Equal(HttpStatusCode.OK, (await host.Client().Delete($"/v1/customers/{customer}")).Status);
        var refused = await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 7, category = "paid" });
        refused.AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "customer_id");
        var buckets = await host.Store.ReadAsync(s => ((Kassa.Storage.ISqlAccess)s).Connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM balance_buckets WHERE account_id = @a AND customer_id = @customer AND kind = 'grant'",
            new { a = host.Account.AccountId, customer }));
        Assert.Equal(1, buckets);
    }

    [Fact]
    public async Task A_grant_rolled_back_to_its_savepoint_after_it_was_remembered_is_forgotten()
    {
        var (customer, feature) = await Subscribed(100);
        Assert.Equal((100m, 10m, 90m), await Track(customer, feature, 10));
        var tenant = Tenant;
        // As the mutation batcher runs a request: the grant decides from memory and keeps its result there with a
        // new token, then its savepoint rolls back (a later failure of the same request).
        var kept = await host.Store.WriteAsync(async s =>
        {
            var sp = (Kassa.Engine.Storage.ISavepoints)s;
            await sp.SavepointAsync("m_0");
            var op = new Kassa.Engine.Common.OperationContext(tenant, Kassa.Engine.Common.Actor.System, Wire.NewId("req"), host.Clock.GetUtcNow());
            var r = await CreateCreditGrant.Execute(s, op, new CreateCreditGrant.Request(customer, feature, 50m, "paid", null, null, null, null, null));
            Assert.True(r.IsOk, r.Error?.Code);
            var remembered = s.BalanceMemory?.Count ?? 0;
            await sp.RollbackToAsync("m_0");
            return remembered;
        });
        if (host.Engine == "sqlite") Assert.True(kept > 0, "the grant should have kept the balance in memory");
        // Memory would say 140 remaining; the store says 90.
        Assert.Equal((100m, 11m, 89m), await Track(customer, feature, 1));
        var grants = (await host.Client().Get($"/v1/credit_grants?customer_id={customer}")).Body!["data"]!.AsArray();
        Assert.Empty(grants);
    }

    [Theory]
    [InlineData(Kassa.Engine.Common.GroupCommitPoint.BeforeWrite)]
    [InlineData(Kassa.Engine.Common.GroupCommitPoint.DuringWrite)]
    [InlineData(Kassa.Engine.Common.GroupCommitPoint.AtCommitRolledBack)]
    [InlineData(Kassa.Engine.Common.GroupCommitPoint.AtCommitCommitted)]
    [InlineData(Kassa.Engine.Common.GroupCommitPoint.AfterCommit)]
    public async Task A_grant_over_a_remembered_balance_whose_batch_commit_fails_is_applied_once(Kassa.Engine.Common.GroupCommitPoint point)
    {
        var (customer, feature) = await Subscribed(100);
        Assert.Equal((100m, 10m, 90m), await Track(customer, feature, 10));
        Assert.Equal((100m, 11m, 89m), await Track(customer, feature, 1));
        var faults = host.Options.GroupCommitFaults;
        faults.Arm(Kassa.Engine.Common.GroupCommitLoop.Mutations, point);
        var key = Wire.NewId("idem");
        var grant = await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 50, category = "paid" }, key);
        Assert.Equal(0, faults.Pending);
        Assert.Equal(HttpStatusCode.Created, grant.Status);
        var replay = await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 50, category = "paid" }, key);
        Assert.Equal((string?)grant.Body!["id"], (string?)replay.Body!["id"]);

        Assert.Equal((150m, 12m, 138m), await Track(customer, feature, 1));
        Assert.Equal((150m, 13m, 137m), await Track(customer, feature, 1));
        var grants = (await host.Client().Get($"/v1/credit_grants?customer_id={customer}")).Body!["data"]!.AsArray();
        Assert.Single(grants);
    }

    [Fact]
    public async Task A_remembered_balance_follows_a_write_by_another_connection()
    {
        var (customer, feature) = await Subscribed(100);
        Assert.Equal((100m, 30m, 70m), await Track(customer, feature, 30));
        var hits = Hits;
        Assert.Equal((100m, 31m, 69m), await Track(customer, feature, 1));
        AssertFromMemory(hits);

        // As another process or an operator would: the allowance bucket's usage cut to 5 units behind the engine's back.
        const string sql = "UPDATE balance_buckets SET used = 5000000 WHERE customer_id = @customer AND feature_id = @feature";
        if (host is SqliteHost sqlite)
        {
            await using var other = new SqliteConnection($"Data Source={sqlite.DatabasePath};Pooling=False");
            await other.OpenAsync();
            await other.ExecuteAsync("PRAGMA busy_timeout=30000");
            Assert.Equal(1, await other.ExecuteAsync(sql, new { customer, feature }));
        }
        else
        {
            Assert.Equal(1, await host.Store.WriteAsync(async s =>
            {
                var session = (Kassa.Storage.ISqlAccess)s;
                return await session.Connection.ExecuteAsync(sql, new { customer, feature }, session.Transaction);
            }));
        }

        Assert.Equal((100m, 6m, 94m), await Track(customer, feature, 1));
        hits = Hits;
        Assert.Equal((100m, 7m, 93m), await Track(customer, feature, 1));
        AssertFromMemory(hits);
    }

    [Fact]
    public async Task A_remembered_grant_that_expires_is_recorded_once_and_then_left_out()
    {
        var (customer, feature) = await Subscribed(100);
        var grant = await host.Client().Post("/v1/credit_grants", new
        {
            customer_id = customer, feature_id = feature, amount = 20, category = "promotional", priority = 0,
            expires_at = host.Clock.GetUtcNow().AddMinutes(30),
        });
        Assert.Equal(HttpStatusCode.Created, grant.Status);
        // The promotional grant expires first, so it burns first: 5 of its 20.
        Assert.Equal((120m, 5m, 115m), await Track(customer, feature, 5));
        var hits = Hits;
        Assert.Equal((120m, 6m, 114m), await Track(customer, feature, 1));
        AssertFromMemory(hits);

        host.Clock.Advance(TimeSpan.FromHours(1));
        // The batch finds the grant expired in memory and records it (14 units left); the next ones must not again.
        Assert.Equal((100m, 1m, 99m), await Track(customer, feature, 1));
        Assert.Equal((100m, 2m, 98m), await Track(customer, feature, 1));
        Assert.Equal((100m, 3m, 97m), await Track(customer, feature, 1));

        var log = (await host.Client().Get($"/v1/credit_transactions?customer_id={customer}&feature_id={feature}&limit=100")).Body!["data"]!.AsArray();
        var expired = log.Where(t => (string?)t!["type"] == "expire").ToList();
        Assert.Single(expired);
        Assert.Equal(14m, (decimal)expired[0]!["amount"]!);
        var balances = (await host.Client().Get($"/v1/customers/{customer}/balances")).Body!["data"]!.AsArray();
        var b = balances.Single(x => (string?)x!["feature_id"] == feature)!;
        Assert.Equal((100m, 3m, 97m), ((decimal)b["granted"]!, (decimal)b["used"]!, (decimal)b["remaining"]!));
    }

    [Fact]
    public async Task Concurrent_tracks_over_remembered_balances_count_every_unit_once()
    {
        var customers = new List<(string Customer, string Feature)>();
        for (var i = 0; i < 4; i++) customers.Add(await Subscribed(1_000));
        // Rounds of 64 tracks at once over four customers: batches mix remembered and loaded customers.
        for (var round = 0; round < 5; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Track(customers[i % 4].Customer, customers[i % 4].Feature, 1)));
            if (round == 2)
            {
                var grant = await host.Client().Post("/v1/credit_grants", new { customer_id = customers[0].Customer, feature_id = customers[0].Feature, amount = 7, category = "paid" });
                Assert.Equal(HttpStatusCode.Created, grant.Status);
            }
        }
        for (var i = 0; i < 4; i++)
        {
            var (customer, feature) = customers[i];
            var balances = (await host.Client().Get($"/v1/customers/{customer}/balances")).Body!["data"]!.AsArray();
            JsonNode b = balances.Single(x => (string?)x!["feature_id"] == feature)!;
            var granted = i == 0 ? 1_007m : 1_000m;
            Assert.Equal((granted, 80m, granted - 80m), ((decimal)b["granted"]!, (decimal)b["used"]!, (decimal)b["remaining"]!));
        }
    }
}

public sealed class BalanceCacheTestsSqlite(SqliteHost host) : BalanceCacheTests(host), IClassFixture<SqliteHost>;

public sealed class BalanceCacheTestsPostgres(PostgresHost host) : BalanceCacheTests(host), IClassFixture<PostgresHost>;
