using System.Net;
using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Server.Http;
using Kassa.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// ADR 0010: ordinary mutations share group-committed transactions, each request in a savepoint. A failed
/// request must leave nothing behind (no row, event, audit record, journal line or success stored under its
/// key) while the requests batched with it commit. Runs on both engines.
/// </summary>
public abstract class MutationBatchTests(KassaHost host)
{
    private MutationBatcher Batcher => host.Services.GetRequiredService<MutationBatcher>();

    private Tenant Tenant => new(host.Account.AccountId, false);

    private Task<long> Count(string sql, object args) =>
        host.Store.ReadAsync(s => ((Kassa.Storage.ISqlAccess)s).Connection.ExecuteScalarAsync<long>(sql, args));

    private Task<long> AuditRows(string objectId) =>
        Count("SELECT COUNT(*) FROM audit_events WHERE account_id = @a AND object_id = @objectId", new { a = host.Account.AccountId, objectId });

    private Task<long> EventRows(string objectId) =>
        Count("SELECT COUNT(*) FROM events WHERE account_id = @a AND object_id = @objectId", new { a = host.Account.AccountId, objectId });

    private Task<long> IdempotencyRows(string key) =>
        Count("SELECT COUNT(*) FROM idempotency_keys WHERE account_id = @a AND key = @key", new { a = host.Account.AccountId, key });

    private bool Postgres => host.Store.Engine == "postgres";

    /// <summary>A trigger named <paramref name="trigger"/> that refuses any update setting a customer's name to <paramref name="poisoned"/>.</summary>
    private Task RefuseCustomerNameAsync(string trigger, string poisoned) => host.Store.WriteAsync(async s =>
    {
        var (c, tx) = (((Kassa.Storage.ISqlAccess)s).Connection, ((Kassa.Storage.ISqlAccess)s).Transaction);
        if (Postgres)
        {
            await c.ExecuteAsync($"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$", transaction: tx);
            await c.ExecuteAsync($"CREATE TRIGGER {trigger} BEFORE UPDATE ON customers FOR EACH ROW WHEN (NEW.name = '{poisoned}') EXECUTE FUNCTION {trigger}()", transaction: tx);
        }
        else await c.ExecuteAsync($"CREATE TRIGGER {trigger} BEFORE UPDATE ON customers WHEN NEW.name = '{poisoned}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END", transaction: tx);
        return true;
    });

    private Task DropRefusalAsync(string trigger) => host.Store.WriteAsync(async s =>
    {
        var access = (Kassa.Storage.ISqlAccess)s;
        await access.Connection.ExecuteAsync(Postgres ? $"DROP TRIGGER {trigger} ON customers; DROP FUNCTION {trigger}()" : $"DROP TRIGGER {trigger}",
            transaction: access.Transaction);
        return true;
    });

    private static AuditRecord Audit(string tenantAccount, string id, string objectId) =>
        new(tenantAccount, false, id, DateTimeOffset.UnixEpoch.AddDays(1), "api_key", "key_test", "test.savepoint", "test", objectId, "req_sp", []);

    [Fact]
    public async Task Concurrent_mutations_commit_together_and_the_failed_ones_leave_no_trace()
    {
        host.RequireEngine();
        var feature = Wire.NewId("credits");
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id = feature, name = "Credits", type = "metered" })).Status);
        var taken = Enumerable.Range(0, 10).Select(_ => Wire.NewId("taken")).ToList();
        foreach (var id in taken) Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{id}", new { name = "First" })).Status);
        var (batchesBefore, itemsBefore) = (Batcher.Batches, Batcher.Items);

        var fresh = Enumerable.Range(0, 40).Select(_ => Wire.NewId("fresh")).ToList();
        var missing = Enumerable.Range(0, 10).Select(_ => Wire.NewId("missing")).ToList();
        var client = host.Client();
        var creates = fresh.Select(id => client.Put($"/v1/customers/{id}", new { name = "Fresh", email = $"{id}@example.com" }));
        // Duplicates without a key (no record may appear under any key) and a grant on a customer that does not exist.
        var duplicates = taken.Select(id => client.Post("/v1/customers", new { id, name = "Second" }));
        var grantKeys = missing.ToDictionary(m => m, _ => "idem-" + Guid.NewGuid().ToString("N"));
        var grants = missing.Select(m => client.Post("/v1/credit_grants", new { customer_id = m, feature_id = feature, amount = 10, category = "paid" }, grantKeys[m]));
        var all = await Task.WhenAll(creates.Concat(duplicates).Concat(grants));

        for (var i = 0; i < fresh.Count; i++) Assert.Equal(HttpStatusCode.Created, all[i].Status);
        for (var i = 0; i < taken.Count; i++) all[fresh.Count + i].AssertError(HttpStatusCode.Conflict, "conflict", "already_exists");
        for (var i = 0; i < missing.Count; i++) all[fresh.Count + taken.Count + i].AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "customer_id");
        // Batching happened: fewer transactions than requests.
        Assert.True(Batcher.Items - itemsBefore >= fresh.Count + taken.Count + missing.Count);
        Assert.True(Batcher.Batches - batchesBefore < Batcher.Items - itemsBefore, $"{Batcher.Batches - batchesBefore} batches for {Batcher.Items - itemsBefore} requests");

        foreach (var id in fresh)
        {
            var got = await client.Get($"/v1/customers/{id}");
            Assert.Equal($"{id}@example.com", (string?)got.Body!["email"]);
            Assert.Equal(1, await AuditRows(id));
            Assert.Equal(1, await EventRows(id));
        }
        foreach (var id in taken)
        {
            // The duplicate changed nothing: the first create's name, one audit record, one event.
            Assert.Equal("First", (string?)(await client.Get($"/v1/customers/{id}")).Body!["name"]);
            Assert.Equal(1, await AuditRows(id));
            Assert.Equal(1, await EventRows(id));
        }
        foreach (var m in missing)
        {
            Assert.Equal(0, await Count("SELECT COUNT(*) FROM customers WHERE account_id = @a AND id = @m", new { a = host.Account.AccountId, m }));
            // The keyed refusal is stored (a retry must see the same 404), as a refusal: no success under the key.
            Assert.Equal(1, await Count("SELECT COUNT(*) FROM idempotency_keys WHERE account_id = @a AND key = @k AND response_status = 404",
                new { a = host.Account.AccountId, k = grantKeys[m] }));
            var replay = await client.Post("/v1/credit_grants", new { customer_id = m, feature_id = feature, amount = 10, category = "paid" }, grantKeys[m]);
            replay.AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "customer_id");
            Assert.Equal("true", replay.Response.Headers.GetValues("Idempotent-Replayed").Single());
        }
        Assert.Equal(0, await Count("SELECT COUNT(*) FROM balance_buckets WHERE account_id = @a AND customer_id LIKE 'missing%'", new { a = host.Account.AccountId }));
    }

    [Fact]
    public async Task Concurrent_credit_grants_and_updates_each_commit_exactly_once_with_their_ledger_lines()
    {
        host.RequireEngine();
        var feature = Wire.NewId("credits");
        await host.Client().Post("/v1/features", new { id = feature, name = "Credits", type = "metered" });
        var customers = Enumerable.Range(0, 8).Select(_ => Wire.NewId("grantee")).ToList();
        foreach (var c in customers) await host.Client().Put($"/v1/customers/{c}", new { name = "G" });
        var client = host.Client();
        var results = await Task.WhenAll(customers.SelectMany(c => Enumerable.Range(1, 5).Select(i =>
            client.Post("/v1/credit_grants", new { customer_id = c, feature_id = feature, amount = i * 10, category = "paid" })))
            .Concat(customers.Select(c => client.Put($"/v1/customers/{c}", new { name = "Renamed" }))));
        Assert.All(results.Take(40), r => Assert.Equal(HttpStatusCode.Created, r.Status));
        Assert.All(results.Skip(40), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        foreach (var c in customers)
        {
            var balance = (await client.Get($"/v1/customers/{c}/balances")).Body!["data"]!.AsArray().Single()!;
            Assert.Equal(150m, (decimal)balance["granted"]!);
            Assert.Equal("Renamed", (string?)(await client.Get($"/v1/customers/{c}")).Body!["name"]);
            Assert.Equal(2, await AuditRows(c));
        }
    }

    [Fact]
    public async Task The_same_key_sent_concurrently_has_one_effect_and_every_answer_is_that_effect_or_in_use()
    {
        host.RequireEngine();
        var key = "idem-" + Guid.NewGuid().ToString("N");
        var id = Wire.NewId();
        var client = host.Client();
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => client.Post("/v1/customers", new { id, name = "Once" }, key)));
        var created = answers.Where(a => a.Status == HttpStatusCode.Created).ToList();
        Assert.NotEmpty(created);
        Assert.Single(created, a => !a.Response.Headers.Contains("Idempotent-Replayed"));
        Assert.All(created, a => Assert.Equal(created[0].Body!.ToJsonString(), a.Body!.ToJsonString()));
        foreach (var other in answers.Where(a => a.Status != HttpStatusCode.Created))
            other.AssertError(HttpStatusCode.Conflict, "conflict", "idempotency_key_in_use");
        Assert.Equal(1, await AuditRows(id));
        Assert.Equal(1, await EventRows(id));
        Assert.Equal(1, await IdempotencyRows(key));
        // Once settled, the key replays the one effect.
        var replay = await client.Post("/v1/customers", new { id, name = "Once" }, key);
        Assert.Equal(HttpStatusCode.Created, replay.Status);
        Assert.Equal("true", replay.Response.Headers.GetValues("Idempotent-Replayed").Single());
    }

    [Theory]
    [InlineData(GroupCommitPoint.BeforeWrite)]
    [InlineData(GroupCommitPoint.DuringWrite)]
    [InlineData(GroupCommitPoint.AtCommitRolledBack)]
    [InlineData(GroupCommitPoint.AtCommitCommitted)]
    [InlineData(GroupCommitPoint.AfterCommit)]
    public async Task A_failure_at_any_point_of_the_batch_commit_still_answers_each_mutation_once_and_truly(GroupCommitPoint point)
    {
        host.RequireEngine();
        var faults = host.Options.GroupCommitFaults;
        var ids = Enumerable.Range(0, 6).Select(_ => Wire.NewId("fault")).ToList();
        faults.Arm(GroupCommitLoop.Mutations, point);
        var client = host.Client();
        var answers = await Task.WhenAll(ids.Select(id => client.Put($"/v1/customers/{id}", new { name = "F" }, "idem-" + id)));
        Assert.Equal(0, faults.Pending);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.Status));
        foreach (var id in ids)
        {
            Assert.Equal(1, await AuditRows(id));
            Assert.Equal(1, await EventRows(id));
            var replay = await client.Put($"/v1/customers/{id}", new { name = "F" }, "idem-" + id);
            Assert.Equal(HttpStatusCode.Created, replay.Status);
            Assert.Equal("true", replay.Response.Headers.GetValues("Idempotent-Replayed").Single());
        }
    }

    [Fact]
    public async Task A_rolled_back_savepoint_drops_its_buffered_rows_and_keeps_the_others()
    {
        host.RequireEngine();
        var account = host.Account.AccountId;
        var tag = Guid.NewGuid().ToString("N")[..12];
        await host.Store.WriteAsync(async s =>
        {
            var sp = (ISavepoints)s;
            await s.Audit.AppendAsync(Audit(account, $"aud_{tag}_before", $"obj_{tag}_kept"));
            await sp.SavepointAsync("m_0");
            await s.Audit.AppendAsync(Audit(account, $"aud_{tag}_failed", $"obj_{tag}_gone"));
            await s.Events.AppendAsync(new EventRecord(account, false, $"evt_{tag}_failed", "test.failed", "test", $"obj_{tag}_gone", "{}", "req_sp", DateTimeOffset.UnixEpoch));
            await sp.RollbackToAsync("m_0");
            await sp.SavepointAsync("m_1");
            await s.Events.AppendAsync(new EventRecord(account, false, $"evt_{tag}_ok", "test.ok", "test", $"obj_{tag}_kept", "{}", "req_sp", DateTimeOffset.UnixEpoch));
            await sp.ReleaseAsync("m_1");
            return true;
        });
        Assert.Equal(1, await AuditRows($"obj_{tag}_kept"));
        Assert.Equal(1, await EventRows($"obj_{tag}_kept"));
        Assert.Equal(0, await AuditRows($"obj_{tag}_gone"));
        Assert.Equal(0, await EventRows($"obj_{tag}_gone"));
    }

    [Fact]
    public async Task One_savepoint_name_serves_every_request_of_a_batch_and_each_rollback_undoes_only_its_own_request()
    {
        // The batcher opens every request's savepoint under the same name: SQLite releases each kept one at once,
        // PostgreSQL leaves it open and nests the next one inside it; either way a rollback must reach back only
        // to the latest, through both the SQL writes and the buffered rows.
        host.RequireEngine();
        var account = host.Account.AccountId;
        var tag = Guid.NewGuid().ToString("N")[..12];
        await host.Store.WriteAsync(async s =>
        {
            var sp = (ISavepoints)s;
            for (var i = 0; i < 6; i++)
            {
                await sp.SavepointAsync("m");
                await s.Meta.GetOrAddAsync($"sp_{tag}_{i}", "written");
                await s.Audit.AppendAsync(Audit(account, $"aud_{tag}_{i}", $"obj_{tag}_{i}"));
                if (i % 2 == 1) await sp.RollbackToAsync("m");
                else await sp.ReleaseAsync("m");
            }
            return true;
        });
        for (var i = 0; i < 6; i++)
        {
            var kept = i % 2 == 0;
            Assert.Equal(kept ? "written" : null, await host.Store.ReadAsync(s => s.Meta.GetAsync($"sp_{tag}_{i}")));
            Assert.Equal(kept ? 1 : 0, await AuditRows($"obj_{tag}_{i}"));
        }
    }

    [Fact]
    public async Task Rows_held_before_a_savepoint_survive_its_rollback_even_when_it_flushed_them()
    {
        host.RequireEngine();
        var account = host.Account.AccountId;
        var tag = Guid.NewGuid().ToString("N")[..12];
        await host.Store.WriteAsync(async s =>
        {
            var sp = (ISavepoints)s;
            for (var i = 0; i < 5; i++) await s.Audit.AppendAsync(Audit(account, $"aud_{tag}_k{i}", $"obj_{tag}_kept"));
            await sp.SavepointAsync("m_0");
            // More than the buffer holds: it is written inside the savepoint, the five earlier rows with it.
            for (var i = 0; i < 2_100; i++) await s.Audit.AppendAsync(Audit(account, $"aud_{tag}_g{i}", $"obj_{tag}_gone"));
            await sp.RollbackToAsync("m_0");
            await sp.SavepointAsync("m_1");
            await s.Audit.AppendAsync(Audit(account, $"aud_{tag}_after", $"obj_{tag}_kept"));
            await sp.ReleaseAsync("m_1");
            return true;
        });
        Assert.Equal(6, await AuditRows($"obj_{tag}_kept"));
        Assert.Equal(0, await AuditRows($"obj_{tag}_gone"));
    }

    [Fact]
    public async Task A_deferred_write_of_a_rolled_back_savepoint_is_never_sent_and_a_kept_one_reaches_the_next_request()
    {
        // On PostgreSQL a deferred write waits for the session's next savepoint, batch of writes or commit: the
        // rollback of its own savepoint must drop it (it was never sent, so the SQL rollback cannot), and the next
        // request's savepoint must carry a kept one so that request reads it. SQLite writes at once; same outcome.
        host.RequireEngine();
        var (dropped, kept) = (Wire.NewId("dropped"), Wire.NewId("kept"));
        foreach (var id in new[] { dropped, kept }) Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{id}", new { name = "Before" })).Status);
        var now = DateTimeOffset.UnixEpoch.AddDays(2);
        var seenByNext = await host.Store.WriteAsync(async s =>
        {
            var sp = (ISavepoints)s;
            await sp.SavepointAsync("m");
            var d = (await s.Customers.GetForUpdateAsync(Tenant, dropped))!;
            await s.Customers.UpdateAsync(d with { Name = "Rolled back", UpdatedAt = now }, deferred: true);
            await sp.RollbackToAsync("m");
            await sp.SavepointAsync("m");
            var k = (await s.Customers.GetForUpdateAsync(Tenant, kept))!;
            await s.Customers.UpdateAsync(k with { Name = "Kept", UpdatedAt = now }, deferred: true);
            await sp.ReleaseAsync("m");
            await sp.SavepointAsync("m");
            var next = (await s.Customers.GetForUpdateAsync(Tenant, kept))!.Name;
            await sp.ReleaseAsync("m");
            return next;
        });
        Assert.Equal("Kept", seenByNext);
        Assert.Equal("Kept", (string?)(await host.Client().Get($"/v1/customers/{kept}")).Body!["name"]);
        Assert.Equal("Before", (string?)(await host.Client().Get($"/v1/customers/{dropped}")).Body!["name"]);
    }

    [Fact]
    public async Task A_deferred_write_that_fails_when_sent_fails_only_its_own_request_and_the_batch_commits_the_rest()
    {
        // A customer update is deferred (ICustomerStore.UpdateAsync): on PostgreSQL it fails inside the next request's
        // round trip or the commit, so the whole batch rolls back and every request runs again alone; on SQLite it fails
        // in its own request. Either way only that request fails, and nothing of it is stored.
        host.RequireEngine();
        var tag = Guid.NewGuid().ToString("N")[..10];
        var poisoned = $"Poisoned {tag}";
        var trigger = $"refuse_{tag}";
        await RefuseCustomerNameAsync(trigger, poisoned);
        try
        {
            var customers = Enumerable.Range(0, 24).Select(_ => Wire.NewId("cus")).ToList();
            foreach (var id in customers) Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{id}", new { name = "Before" })).Status);
            var client = host.Client();
            var results = await Task.WhenAll(customers.Select((id, i) => client.Put($"/v1/customers/{id}", new { name = i == 5 ? poisoned : $"After {i}" })));
            for (var i = 0; i < customers.Count; i++)
            {
                if (i == 5)
                {
                    results[i].AssertError(HttpStatusCode.InternalServerError, "api_error", "internal_error");
                    Assert.Equal("Before", (string?)(await client.Get($"/v1/customers/{customers[i]}")).Body!["name"]);
                    Assert.Equal(1, await AuditRows(customers[i]));
                    Assert.Equal(1, await EventRows(customers[i]));
                    continue;
                }
                Assert.Equal(HttpStatusCode.OK, results[i].Status);
                Assert.Equal($"After {i}", (string?)(await client.Get($"/v1/customers/{customers[i]}")).Body!["name"]);
                // Created, then updated once: exactly two audit records and two events, whatever ran again.
                Assert.Equal(2, await AuditRows(customers[i]));
                Assert.Equal(2, await EventRows(customers[i]));
            }
        }
        finally
        {
            await DropRefusalAsync(trigger);
        }
    }

    [Fact]
    public async Task Concurrent_updates_of_one_customer_each_see_the_update_committed_before_it()
    {
        // On PostgreSQL a batch reads its requests' customers ahead, once (ADR 0022): a request must see what the
        // requests before it in the same batch changed, not the row as read ahead. The events' previous_attributes
        // chain proves it: each update's previous name is the name the update before it set.
        host.RequireEngine();
        var id = Wire.NewId("cus");
        var client = host.Client();
        Assert.Equal(HttpStatusCode.Created, (await client.Put($"/v1/customers/{id}", new { name = "Start" })).Status);
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => client.Put($"/v1/customers/{id}", new { name = $"Name {i}" })));
        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var events = (await host.Store.ReadAsync(s => ((Kassa.Storage.ISqlAccess)s).Connection.QueryAsync<string>(
            "SELECT data FROM events WHERE account_id = @a AND object_id = @id AND type = 'customer.updated' ORDER BY seq",
            new { a = host.Account.AccountId, id }))).Select(d => System.Text.Json.Nodes.JsonNode.Parse(d)!).ToList();
        Assert.Equal(16, events.Count);
        var before = "Start";
        foreach (var e in events)
        {
            Assert.Equal(before, (string?)e["previous_attributes"]!["name"]);
            before = (string)e["object"]!["name"]!;
        }
        Assert.Equal(16, events.Select(e => (string?)e["object"]!["name"]).Distinct().Count());
        Assert.Equal(before, (string?)(await client.Get($"/v1/customers/{id}")).Body!["name"]);
        Assert.Equal(17, await AuditRows(id));
    }

    [Fact]
    public async Task Held_customer_updates_sent_together_keep_each_rows_values_and_a_customer_updated_twice_ends_with_the_later()
    {
        // On PostgreSQL adjacent held updates of one statement go as one UPDATE over arrays at the commit (ADR 0022); a run
        // that names a customer twice goes one statement a row, in order. SQLite writes each at once; same outcome.
        host.RequireEngine();
        var ids = Enumerable.Range(0, 4).Select(_ => Wire.NewId("cus")).ToList();
        foreach (var id in ids) Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{id}", new { name = "Before" })).Status);
        var now = DateTimeOffset.UnixEpoch.AddDays(3);
        async Task Update(IStoreSession s, string id, string name, string? email)
        {
            var c = (await s.Customers.GetForUpdateAsync(Tenant, id))!;
            await s.Customers.UpdateAsync(c with { Name = name, Email = email, Metadata = new Dictionary<string, string> { ["n"] = name }, UpdatedAt = now }, deferred: true);
        }
        // Three different customers (one statement), then two of them again and the fourth (a customer named twice: a row each).
        await host.Store.WriteAsync(async s =>
        {
            for (var i = 0; i < 3; i++) await Update(s, ids[i], $"First {i}", i == 1 ? null : $"c{i}@example.com");
            return true;
        });
        await host.Store.WriteAsync(async s =>
        {
            await Update(s, ids[3], "Once", null);
            await Update(s, ids[0], "Second 0", "again@example.com");
            await Update(s, ids[0], "Third 0", null);
            return true;
        });
        var got = new List<(string?, string?, string?)>();
        foreach (var id in ids)
        {
            var body = (await host.Client().Get($"/v1/customers/{id}")).Body!;
            got.Add(((string?)body["name"], (string?)body["email"], (string?)body["metadata"]!["n"]));
        }
        Assert.Equal([("Third 0", null, "Third 0"), ("First 1", null, "First 1"), ("First 2", "c2@example.com", "First 2"), ("Once", null, "Once")], got);
    }

    /// <summary>A balance of <paramref name="feature"/> for a new customer: 100 included a month, billed past zero, 130 used (30 over).</summary>
    private async Task<string> InOverageAsync(string feature, string product)
    {
        var customer = Wire.NewId("over");
        await host.Client().Put($"/v1/customers/{customer}", new { name = "Over" });
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        var tracked = await host.Client().Post("/v1/track", new { customer_id = customer, feature_id = feature, value = 130 });
        Assert.Equal(30m, (decimal)tracked.Body!["balance"]!["overage"]!);
        return customer;
    }

    private async Task<(string Feature, string Product)> OverageCatalogAsync()
    {
        var (feature, product) = (Wire.NewId("calls"), Wire.NewId("plan"));
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id = feature, name = "Calls", type = "metered" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/products", new
        {
            id = product, name = "Plan", features = new[] { new { feature_id = feature, included = 100, reset = "month", overage = "billed" } },
        })).Status);
        return (feature, product);
    }

    private async Task<(decimal Granted, decimal Used, decimal Remaining, decimal Overage)> BalanceOf(string customer)
    {
        var b = (await host.Client().Get($"/v1/customers/{customer}/balances")).Body!["data"]!.AsArray().Single()!;
        return ((decimal)b["granted"]!, (decimal)b["used"]!, (decimal)b["remaining"]!, (decimal)b["overage"]!);
    }

    /// <summary>
    /// Batches made only of grants read their customers' books ahead on PostgreSQL (one round trip, not one a grant):
    /// customers with a balance in overage, with none yet and with several grants in one batch each end exact, every
    /// grant with one bucket and one credit movement.
    /// </summary>
    [Fact]
    public async Task Grants_batched_together_read_their_books_ahead_and_each_lands_exactly_once()
    {
        host.RequireEngine();
        var (feature, product) = await OverageCatalogAsync();
        var over = new List<string>();
        for (var i = 0; i < 4; i++) over.Add(await InOverageAsync(feature, product));
        var fresh = Enumerable.Range(0, 8).Select(_ => Wire.NewId("fresh")).ToList();
        foreach (var c in fresh) await host.Client().Put($"/v1/customers/{c}", new { name = "Fresh" });
        var before = Kassa.Storage.SqlBalances.BooksTakenTotal;
        var client = host.Client();
        var results = await Task.WhenAll(over.Concat(fresh).SelectMany(c => new[] { 10m, 20m, 40m }.Select(amount =>
            client.Post("/v1/credit_grants", new { customer_id = c, feature_id = feature, amount, category = "paid" }))));
        Assert.All(results, r => Assert.Equal(HttpStatusCode.Created, r.Status));
        // Process-wide (other classes' grants count too): the exact figures of a read-ahead are the next test's.
        if (Postgres) Assert.True(Kassa.Storage.SqlBalances.BooksTakenTotal > before, "no grant's book was taken from a read-ahead");
        // 70 granted: the first 30 paid the overage off.
        foreach (var c in over) Assert.Equal((170m, 130m, 40m, 0m), await BalanceOf(c));
        foreach (var c in fresh) Assert.Equal((70m, 0m, 70m, 0m), await BalanceOf(c));
        foreach (var c in over.Concat(fresh))
        {
            Assert.Equal(3, await Count("SELECT COUNT(*) FROM balance_buckets WHERE account_id = @a AND customer_id = @c AND kind = 'grant'", new { a = host.Account.AccountId, c }));
            // A grant movement each; the grants that paid the overage off (which ones depends on their order) also moved
            // its 30 units out of overage (adjust) and into their buckets (consume).
            Assert.Equal(3, await Count("SELECT COUNT(*) FROM credit_transactions WHERE account_id = @a AND customer_id = @c AND source_type = 'credit_grant' AND type = 'grant'",
                new { a = host.Account.AccountId, c }));
            var paidOff = over.Contains(c) ? 30_000_000 : 0;
            Assert.Equal((paidOff, paidOff), await host.Store.ReadAsync(s => ((Kassa.Storage.ISqlAccess)s).Connection.QuerySingleAsync<(long, long)>(
                "SELECT COALESCE(SUM(CASE WHEN type = 'adjust' THEN amount END), 0), COALESCE(SUM(CASE WHEN type = 'consume' THEN amount END), 0) FROM credit_transactions WHERE account_id = @a AND customer_id = @c AND source_type = 'credit_grant'",
                new { a = host.Account.AccountId, c })));
        }
    }

    /// <summary>
    /// A grant whose balance header another transaction holds is left out of the batch's read-ahead (PostgreSQL: SKIP
    /// LOCKED, then its header count does not match) and loads for itself, waiting for the holder; it sees the holder's
    /// change. The other grants of the batch are not held up by it beyond that wait.
    /// </summary>
    [Fact]
    public async Task A_grant_whose_balance_another_transaction_holds_waits_for_it_and_sees_its_change()
    {
        host.RequireEngine();
        var (feature, product) = await OverageCatalogAsync();
        var held = await InOverageAsync(feature, product);
        var others = new List<string>();
        for (var i = 0; i < 3; i++) others.Add(await InOverageAsync(feature, product));
        var locked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = Task.Run(() => host.Store.WriteAsync(async s =>
        {
            var access = (Kassa.Storage.ISqlAccess)s;
            // As a balance batch of another process would: the header locked and 5 more used past zero.
            await access.Connection.ExecuteAsync(
                "UPDATE feature_balances SET overage = overage + 5000000 WHERE account_id = @a AND customer_id = @c AND feature_id = @f",
                new { a = host.Account.AccountId, c = held, f = feature }, access.Transaction);
            locked.TrySetResult();
            await Task.Delay(300);
            return true;
        }));
        await locked.Task;
        var client = host.Client();
        var results = await Task.WhenAll(others.Prepend(held).Select(c => client.Post("/v1/credit_grants", new { customer_id = c, feature_id = feature, amount = 50, category = "paid" })));
        await blocker;
        Assert.All(results, r => Assert.Equal(HttpStatusCode.Created, r.Status));
        // 135 used, 35 over; the grant's 50 pays the 35 off.
        Assert.Equal((150m, 135m, 15m, 0m), await BalanceOf(held));
        foreach (var c in others) Assert.Equal((150m, 130m, 20m, 0m), await BalanceOf(c));
    }

    /// <summary>
    /// The book read-ahead itself (PostgreSQL), in one transaction: a customer whose header another transaction holds
    /// is left out and its own load waits and sees that transaction's change; the other customer's book is taken once
    /// (a second load reads again); a load at a time before the read-ahead's window loads for itself. SQLite reads
    /// nothing ahead.
    /// </summary>
    [Fact]
    public async Task A_book_read_ahead_leaves_out_a_customer_whose_header_another_transaction_holds()
    {
        host.RequireEngine();
        var (feature, product) = await OverageCatalogAsync();
        var (held, free, early) = (await InOverageAsync(feature, product), await InOverageAsync(feature, product), await InOverageAsync(feature, product));
        var now = host.Clock.GetUtcNow();
        var locked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<bool>? blocker = null;
        if (Postgres)
        {
            blocker = Task.Run(() => host.Store.WriteAsync(async s =>
            {
                var access = (Kassa.Storage.ISqlAccess)s;
                await access.Connection.ExecuteAsync(
                    "UPDATE feature_balances SET overage = overage + 5000000 WHERE account_id = @a AND customer_id = @c AND feature_id = @f",
                    new { a = host.Account.AccountId, c = held, f = feature }, access.Transaction);
                locked.TrySetResult();
                await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
                return true;
            }));
            await locked.Task;
        }
        BookQuery Load(string customer, DateTimeOffset at) => new(Tenant, [customer], ForUpdate: true, at, CustomersKnownToExist: false, [], [], LockCustomers: true);
        var (read, taken, heldOverage, freeOverage, freeAgain, earlyHeaders) = await host.Store.WriteAsync(async s =>
        {
            var balances = (Kassa.Storage.SqlBalances)s.Balances;
            IReadOnlyCollection<(Tenant, string)> customers = [(Tenant, held), (Tenant, free), (Tenant, early)];
            await s.Customers.ReadAheadForUpdateAsync(customers);
            await s.Balances.ReadAheadBooksAsync(customers, now);
            release.TrySetResult();
            var heldBook = await s.Balances.LoadBookAsync(Load(held, now));
            var freeBook = await s.Balances.LoadBookAsync(Load(free, now));
            var again = await s.Balances.LoadBookAsync(Load(free, now));
            var earlyBook = await s.Balances.LoadBookAsync(Load(early, now - TimeSpan.FromHours(1)));
            return (balances.BooksReadAhead, balances.BooksTaken, heldBook.Headers.Single().Overage, freeBook.Headers.Single().Overage,
                again.Headers.Single().Overage, earlyBook.Headers.Count);
        });
        if (blocker is not null) await blocker;
        // Whichever way each was loaded, every load saw the committed rows.
        Assert.Equal((Postgres ? 35_000_000L : 30_000_000L, 30_000_000L, 30_000_000L, 1), (heldOverage, freeOverage, freeAgain, earlyHeaders));
        Assert.Equal(Postgres ? (2, 1) : (0, 0), (read, taken));
    }

    [Fact]
    public async Task A_request_whose_customer_another_transaction_holds_waits_for_it_and_sees_its_change()
    {
        // The batch's read-ahead skips a customer another transaction has locked (PostgreSQL: SKIP LOCKED); the request
        // then reads it itself and waits, inside its savepoint or alone after the batch. On SQLite the other transaction
        // holds the one writer and the whole batch waits. Either way the update sees the committed change before it.
        host.RequireEngine();
        var (held, free) = (Wire.NewId("cus"), Wire.NewId("cus"));
        var client = host.Client();
        foreach (var id in new[] { held, free }) Assert.Equal(HttpStatusCode.Created, (await client.Put($"/v1/customers/{id}", new { name = "Before" })).Status);
        var locked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = Task.Run(() => host.Store.WriteAsync(async s =>
        {
            var c = (await s.Customers.GetForUpdateAsync(Tenant, held))!;
            await s.Customers.UpdateAsync(c with { Name = "Blocker", Metadata = new Dictionary<string, string> { ["by"] = "blocker" }, UpdatedAt = c.UpdatedAt.AddSeconds(1) });
            locked.TrySetResult();
            await Task.Delay(400);
            return true;
        }));
        await locked.Task;
        var results = await Task.WhenAll(client.Put($"/v1/customers/{held}", new { metadata = new { by = "request" } }), client.Put($"/v1/customers/{free}", new { name = "After" }));
        await blocker;
        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal("Blocker", (string?)results[0].Body!["name"]);
        Assert.Equal("request", (string?)results[0].Body!["metadata"]!["by"]);
        var previous = await host.Store.ReadAsync(s => ((Kassa.Storage.ISqlAccess)s).Connection.ExecuteScalarAsync<string>(
            "SELECT data FROM events WHERE account_id = @a AND object_id = @held AND type = 'customer.updated' ORDER BY seq DESC LIMIT 1",
            new { a = host.Account.AccountId, held }));
        Assert.Equal("blocker", (string?)System.Text.Json.Nodes.JsonNode.Parse(previous!)!["previous_attributes"]!["metadata"]!["by"]);
        Assert.Equal("After", (string?)(await client.Get($"/v1/customers/{free}")).Body!["name"]);
    }

    [Fact]
    public async Task A_held_write_that_fails_in_front_of_a_later_statement_fails_the_transaction_not_a_savepoint()
    {
        // PostgreSQL sends a deferred write in front of the session's next statement (ADR 0022). If it fails there, the
        // error surfaces in a later request's statement; rolling that request back to its savepoint would leave the
        // failed write's request answered as kept. So the rollback refuses and the transaction fails (the batcher then
        // runs each request alone). SQLite writes at once: the write itself fails, in its own request.
        host.RequireEngine();
        var tag = Guid.NewGuid().ToString("N")[..10];
        var (poisoned, trigger) = ($"Poisoned {tag}", $"refuse_{tag}");
        var (first, second) = (Wire.NewId("cus"), Wire.NewId("cus"));
        foreach (var id in new[] { first, second }) Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{id}", new { name = "Before" })).Status);
        await RefuseCustomerNameAsync(trigger, poisoned);
        try
        {
            var failures = new List<string>();
            var failed = await Assert.ThrowsAnyAsync<Exception>(() => host.Store.WriteAsync(async s =>
            {
                var sp = (ISavepoints)s;
                await sp.SavepointAsync("m");
                var a = (await s.Customers.GetForUpdateAsync(Tenant, first))!;
                try
                {
                    await s.Customers.UpdateAsync(a with { Name = poisoned }, deferred: true);
                }
                catch (Exception e)
                {
                    failures.Add("update: " + e.GetType().Name);
                    await sp.RollbackToAsync("m");
                    throw;
                }
                await sp.ReleaseAsync("m");
                await sp.SavepointAsync("m");
                try
                {
                    await s.Customers.GetForUpdateAsync(Tenant, second);
                }
                catch (Exception e)
                {
                    failures.Add("next read: " + e.GetType().Name);
                    await sp.RollbackToAsync("m");
                }
                return true;
            }));
            if (Postgres)
            {
                Assert.Equal(["next read: PostgresException"], failures);
                Assert.IsType<InvalidOperationException>(failed);
            }
            else
            {
                Assert.Equal(["update: SqliteException"], failures);
                Assert.IsType<Microsoft.Data.Sqlite.SqliteException>(failed);
            }
            Assert.Equal("Before", (string?)(await host.Client().Get($"/v1/customers/{first}")).Body!["name"]);
        }
        finally
        {
            await DropRefusalAsync(trigger);
        }
    }

    [Fact]
    public async Task A_rolled_back_savepoint_leaves_no_product_in_the_sessions_cache()
    {
        host.RequireEngine();
        var id = Wire.NewId("prod");
        var now = DateTimeOffset.UnixEpoch.AddDays(1);
        var seen = await host.Store.WriteAsync(async s =>
        {
            var sp = (ISavepoints)s;
            await sp.SavepointAsync("m_0");
            await s.Catalog.TryInsertProductAsync(new ProductRecord(Tenant.AccountId, false, id, "Ghost", null, false, false, null, 1,
                new Dictionary<string, string>(), null, now, now));
            Assert.NotNull(await s.Catalog.GetProductAsync(Tenant, id));
            await sp.RollbackToAsync("m_0");
            return await s.Catalog.GetProductAsync(Tenant, id);
        });
        Assert.Null(seen);
    }

    [Fact]
    public async Task A_sessions_remembered_feature_follows_its_writes_and_its_rolled_back_savepoints()
    {
        host.RequireEngine();
        var id = Wire.NewId("feat");
        var now = DateTimeOffset.UnixEpoch.AddDays(1);
        var (ghost, renamed) = await host.Store.WriteAsync(async s =>
        {
            var sp = (ISavepoints)s;
            // Inserted and read (remembered) inside a savepoint that rolls back: the row and the memory go together.
            await sp.SavepointAsync("m");
            await s.Catalog.TryInsertFeatureAsync(new FeatureRecord(Tenant.AccountId, false, id, "Ghost", "metered", null, null, null, now, now));
            Assert.Equal("Ghost", (await s.Catalog.GetFeatureAsync(Tenant, id))!.Name);
            await sp.RollbackToAsync("m");
            var ghost = await s.Catalog.GetFeatureAsync(Tenant, id);
            // Inserted, read, then updated in the same session: the next read sees the update, not the remembered row.
            await s.Catalog.TryInsertFeatureAsync(new FeatureRecord(Tenant.AccountId, false, id, "First", "metered", null, null, null, now, now));
            var first = (await s.Catalog.GetFeatureAsync(Tenant, id))!;
            await s.Catalog.UpdateFeatureAsync(first with { Name = "Renamed" });
            return (ghost, (await s.Catalog.GetFeatureAsync(Tenant, id))!.Name);
        });
        Assert.Null(ghost);
        Assert.Equal("Renamed", renamed);
    }
}

public sealed class MutationBatchTestsSqlite(SqliteHost host) : MutationBatchTests(host), IClassFixture<SqliteHost>;

public sealed class MutationBatchTestsPostgres(BatchingPostgresHost host) : MutationBatchTests(host), IClassFixture<BatchingPostgresHost>;

/// <summary>PostgreSQL with the mutation batcher on (the default since 2026-12-04; set here so these tests keep proving it whatever the default).</summary>
public sealed class BatchingPostgresHost : PostgresHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => options.MutationBatching = true;
}
