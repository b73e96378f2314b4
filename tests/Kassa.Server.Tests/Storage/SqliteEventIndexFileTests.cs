using System.Text.Json;
using Dapper;
using Kassa.Core.Metering;
using Kassa.Engine.Common;
using Kassa.Engine.Metering;
using Kassa.Engine.Storage;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Microsoft.Data.Sqlite;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// The SQLite event index in its own file (ADR 0006, "The event index in its own file"): an indexer beside the
/// roller, with a watermark of its own, keeps the customer and time orders through runs; lists see each event
/// once wherever the indexer and the roller stand; an upgrade moves the index the rollups file held; an index
/// file from another moment is refilled.
/// </summary>
public sealed class SqliteEventIndexFileTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-index-file-tests");
    private static readonly Tenant Acme = new("acct_index", false);
    private static readonly DateTimeOffset Hour = new(2026, 11, 3, 10, 0, 0, TimeSpan.Zero);
    private static readonly JsonElement NoProperties = JsonDocument.Parse("{}").RootElement.Clone();

    public void Dispose() => _temp.Dispose();

    private static async Task<IndexPass> IndexAsync(SqliteStore store)
    {
        var read = await store.ReadAsync(s => s.Metering.ReadEventsToIndexAsync(IndexMeterEvents.PassEventsMax));
        return await store.WriteEventIndexAsync(s => s.Metering.IndexEventsAsync(read, Hour));
    }

    private static List<string> NewestFirst(IEnumerable<NormalizedEvent> events) =>
        events.OrderByDescending(e => e.Timestamp).ThenByDescending(e => e.Id, StringComparer.Ordinal).Select(e => e.Id).ToList();

    [Fact]
    public async Task Every_customers_events_are_listed_once_pass_after_pass_while_runs_move_into_the_customer_order()
    {
        var path = _temp.File("runs.db");
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        // 48 customers, every bucket among them, so each pass moves some customers' entries and leaves others in runs.
        var customers = Enumerable.Range(0, 48).Select(i => $"cus_{i:D2}").ToList();
        Assert.Equal(SqlMetering.EventRunBuckets, customers.Select(SqlMetering.EventRunBucket).Distinct().Count());
        var stored = new List<NormalizedEvent>();
        var random = new Random(14);
        await using var index = new SqliteConnection($"Data Source={store.IndexPath};Pooling=False;Mode=ReadOnly");
        await index.OpenAsync();
        for (var pass = 0; pass < 40; pass++)
        {
            var batch = Enumerable.Range(0, 24).Select(i => new NormalizedEvent($"e{pass:D2}_{i:D2}", "tokens", customers[random.Next(customers.Count)],
                Hour.AddSeconds(random.Next(3_600)), NoProperties, "{}")).ToList();
            Assert.Equal(24, (await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, batch, Hour))).Count);
            stored.AddRange(batch);
            // The roller every other pass: the lists do not depend on it.
            if (pass % 2 == 0) await store.WriteRollupsAsync(s => RollMeterEvents.Execute(s, Hour));
            Assert.Equal(new IndexPass(24, stored.Count + 1), await IndexAsync(store));

            // Each indexed event is in the customer order or in one listed run, never both, and in the time order.
            var (ordered, inRuns, both, unlisted, listed, times) = await index.QuerySingleAsync<(long, long, long, long, long, long)>("""
                SELECT (SELECT count(*) FROM meter_event_index), (SELECT count(*) FROM meter_event_runs),
                       (SELECT count(*) FROM meter_event_runs r JOIN meter_event_index i USING (account_id, livemode, customer_id, ts, id)),
                       (SELECT count(*) FROM meter_event_runs WHERE run NOT IN (SELECT run FROM meter_event_run_list)),
                       (SELECT count(*) FROM meter_event_run_list), (SELECT count(*) FROM meter_event_times)
                """);
            Assert.Equal((stored.Count, 0L, 0L, stored.Count), (ordered + inRuns, both, unlisted, times));
            Assert.Equal(Math.Min(pass + 1, SqlMetering.EventRunBuckets - 1), listed);
            // A run's entries of the bucket its own pass moved went on at once.
            Assert.Equal(0, await index.ExecuteScalarAsync<long>("SELECT count(*) FROM meter_event_runs r JOIN meter_event_run_list l USING (run) WHERE r.bucket = l.pass % 16"));

            foreach (var customer in customers)
            {
                var listedIds = (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, customer, "tokens", null, null, null, 1_000))).Select(e => e.Id);
                Assert.True(NewestFirst(stored.Where(e => e.CustomerId == customer)).SequenceEqual(listedIds), $"{customer} after pass {pass}");
            }
        }
        // One customer paged three at a time within a time range: the same order, each event once.
        var one = customers[7];
        var paged = new List<string>();
        Kassa.Core.Paging.Cursor? after = null;
        while (true)
        {
            var page = await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, one, null, Hour.AddMinutes(10), Hour.AddMinutes(50), after, 3));
            paged.AddRange(page.Select(e => e.Id));
            if (page.Count < 3) break;
            after = new Kassa.Core.Paging.Cursor(Micros.From(page[^1].Timestamp), page[^1].Id);
        }
        Assert.Equal(NewestFirst(stored.Where(e => e.CustomerId == one && e.Timestamp >= Hour.AddMinutes(10) && e.Timestamp < Hour.AddMinutes(50))), paged);
    }

    [Fact]
    public async Task A_rebuild_reads_the_rolled_events_only_when_the_indexer_is_ahead_of_the_roller_or_behind_it()
    {
        var path = _temp.File("ahead.db");
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        var events = Enumerable.Range(0, 9).Select(i => new NormalizedEvent($"e{i}", "tokens", $"cus_{i % 2}", Hour.AddMinutes(i), NoProperties, "{}")).ToList();
        await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, events[..3], Hour));
        await store.WriteRollupsAsync(s => RollMeterEvents.Execute(s, Hour));
        await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, events[3..6], Hour));
        // Indexer ahead of the roller: positions 1–6 indexed, 1–3 rolled.
        Assert.Equal(new IndexPass(6, 7), await IndexAsync(store));
        Task<IReadOnlyList<StoredMeterEvent>> Rebuilt() =>
            store.WriteRollupsAsync(async s => await s.Metering.EventsInOrderAsync(Acme, "tokens", null, 100, await s.Metering.LockRollerAsync()));
        Assert.Equal(["e0", "e1", "e2"], (await Rebuilt()).Select(e => e.Id));
        // Roller ahead of the indexer: 1–9 rolled, 1–6 indexed.
        await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, events[6..], Hour));
        await store.WriteRollupsAsync(s => RollMeterEvents.Execute(s, Hour));
        Assert.Equal(events.Select(e => e.Id), (await Rebuilt()).Select(e => e.Id));
        Assert.Equal(NewestFirst(events.Where(e => e.CustomerId == "cus_1")),
            (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", null, null, null, null, 100))).Select(e => e.Id));
        Assert.Equal(NewestFirst(events), (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, null, null, null, null, null, 100))).Select(e => e.Id));
        Assert.Equal(new IndexPass(3, 10), await IndexAsync(store));
        Assert.Equal(new IndexPass(0, 10), await IndexAsync(store));
        Assert.Equal(events.Select(e => e.Id), (await Rebuilt()).Select(e => e.Id));
        // A pass whose read another pass overtook writes nothing: each event is indexed once.
        await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, [new NormalizedEvent("e9", "tokens", "cus_1", Hour.AddMinutes(30), NoProperties, "{}")], Hour));
        var stale = await store.ReadAsync(s => s.Metering.ReadEventsToIndexAsync(IndexMeterEvents.PassEventsMax));
        Assert.Equal(new IndexPass(1, 11), await IndexAsync(store));
        Assert.Equal(new IndexPass(0, 11), await store.WriteEventIndexAsync(s => s.Metering.IndexEventsAsync(stale, Hour)));
        Assert.Equal(["e9", "e7", "e5", "e3", "e1"], (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", null, null, null, null, 100))).Select(e => e.Id));
    }

    [Fact]
    public async Task An_upgrade_moves_the_index_the_rollups_file_held_into_the_index_file_with_its_watermark()
    {
        var path = _temp.File("upgrade.db");
        var hour = Micros.From(Hour);
        await using (var main = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await main.OpenAsync();
            await main.ExecuteAsync("PRAGMA journal_mode=WAL");
            await main.ExecuteAsync("CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
            foreach (var script in Migrator.Scripts("sqlite"))
            {
                await main.ExecuteAsync(script.Sql);
                await main.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, 0)", new { script.Version, script.Name });
            }
            // One event from before the roller (no position), two rolled and indexed (1, 2), one not yet (3).
            await main.ExecuteAsync("""
                INSERT INTO meter_events (account_id, livemode, id, event_name, customer_id, ts, properties, received_at, seq) VALUES
                  ('acct_index', 0, 'ev_old', 'tokens', 'cus_1', @hour, '{}', @hour, NULL),
                  ('acct_index', 0, 'ev_1', 'tokens', 'cus_1', @hour + 1, '{}', @hour, 1),
                  ('acct_index', 0, 'ev_2', 'tokens', 'cus_1', @hour + 2, '{}', @hour, 2),
                  ('acct_index', 0, 'ev_3', 'tokens', 'cus_1', @hour + 3, '{}', @hour, 3)
                """, new { hour });
        }
        await using (var rollups = new SqliteConnection($"Data Source={path}-rollups;Pooling=False"))
        {
            await rollups.OpenAsync();
            await rollups.ExecuteAsync("PRAGMA journal_mode=WAL");
            await MigrationsBefore.ApplyAsync(rollups, "sqlite-rollups", "0003_event_index_own_file");
            await rollups.ExecuteAsync("""
                INSERT INTO meter_event_index (account_id, livemode, customer_id, ts, id, event_name) VALUES
                  ('acct_index', 0, 'cus_1', @hour, 'ev_old', 'tokens'), ('acct_index', 0, 'cus_1', @hour + 1, 'ev_1', 'tokens'),
                  ('acct_index', 0, 'cus_1', @hour + 2, 'ev_2', 'tokens');
                INSERT INTO meter_event_times (account_id, livemode, ts, id, customer_id, event_name) VALUES
                  ('acct_index', 0, @hour, 'ev_old', 'cus_1', 'tokens'), ('acct_index', 0, @hour + 1, 'ev_1', 'cus_1', 'tokens'),
                  ('acct_index', 0, @hour + 2, 'ev_2', 'cus_1', 'tokens');
                UPDATE meter_roller SET watermark = 3, events_indexed = 1 WHERE id = 1;
                """, new { hour });
        }
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        await using (var index = new SqliteConnection($"Data Source={store.IndexPath};Pooling=False;Mode=ReadOnly"))
        {
            await index.OpenAsync();
            Assert.Equal((3L, 1L), await index.QuerySingleAsync<(long, long)>("SELECT watermark, filled FROM meter_indexer"));
            Assert.Equal(["ev_1", "ev_2", "ev_old"], await index.QueryAsync<string>("SELECT id FROM meter_event_index ORDER BY id"));
            Assert.Equal(["ev_1", "ev_2", "ev_old"], await index.QueryAsync<string>("SELECT id FROM meter_event_times ORDER BY id"));
        }
        await using (var rollups = new SqliteConnection($"Data Source={store.RollupsPath};Pooling=False;Mode=ReadOnly"))
        {
            await rollups.OpenAsync();
            Assert.Empty(await rollups.QueryAsync<string>("SELECT name FROM sqlite_master WHERE name IN ('meter_event_index', 'meter_event_times')"));
        }
        string[] all = ["ev_3", "ev_2", "ev_1", "ev_old"];
        Assert.Equal(all, (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", null, null, null, null, 10))).Select(e => e.Id));
        Assert.Equal(new IndexPass(1, 4), await IndexAsync(store));
        Assert.Equal(all, (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", null, null, null, null, 10))).Select(e => e.Id));
        Assert.Equal(all, (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, null, "tokens", null, null, null, 10))).Select(e => e.Id));
    }

    [Fact]
    public async Task An_index_file_ahead_of_the_database_is_emptied_and_filled_again_at_start()
    {
        var path = _temp.File("restored.db");
        var events = Enumerable.Range(0, 4).Select(i => new NormalizedEvent($"e{i}", "tokens", "cus_1", Hour.AddMinutes(i), NoProperties, "{}")).ToList();
        await using (var store = new SqliteStore($"Data Source={path}", TimeProvider.System))
        {
            await store.MigrateAsync();
            await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, events, Hour));
            Assert.Equal(new IndexPass(4, 5), await IndexAsync(store));
        }
        SqliteConnection.ClearAllPools();
        // The main file as an older backup would have it: the last two events gone, the index file kept.
        await using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await c.OpenAsync();
            await c.ExecuteAsync("DELETE FROM meter_events WHERE seq > 2");
        }
        await using (var store = new SqliteStore($"Data Source={path}", TimeProvider.System))
        {
            await store.MigrateAsync();
            Assert.Equal(["e1", "e0"], (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", null, null, null, null, 10))).Select(e => e.Id));
            // Refilled from the main file: the indexer starts over at position 1.
            Assert.Equal(new IndexPass(2, 3), await IndexAsync(store));
            await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, [new NormalizedEvent("e9", "tokens", "cus_1", Hour.AddMinutes(9), NoProperties, "{}")], Hour));
            Assert.Equal(new IndexPass(1, 4), await IndexAsync(store));
            Assert.Equal(["e9", "e1", "e0"], (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", null, null, null, null, 10))).Select(e => e.Id));
        }
    }
}
