using Dapper;
using Kassa.Core.Metering;
using Kassa.Engine.Common;
using Kassa.Engine.Metering;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Npgsql;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// PostgreSQL migration 0025 (ADR 0006, "The event index") on a database that already holds meter events: the
/// events behind the watermark — rolled, or stored before the roller (no position) — are in the event index
/// after the upgrade, the one above it is read by position until the roller indexes it, and each is listed once
/// throughout. A database is built with every migration before it, then the store migrates the rest.
/// </summary>
public sealed class PostgresEventIndexMigrationTests
{
    private static readonly Tenant Acme = new("acct_ix", false);

    [Fact]
    public async Task The_events_behind_the_watermark_are_indexed_at_the_upgrade_and_the_rest_by_the_roller()
    {
        await using var database = await MigrationsBefore.PostgresAsync("0025_event_index");
        var db = database.ConnectionString;
        await using (var c = new NpgsqlConnection(db))
        {
            await c.OpenAsync();
            // Positions are transaction ids, cluster-wide: the watermark is set just below the current one, an event
            // is placed behind it, one has no position (stored before the roller), one gets the current id (unrolled).
            var now = await c.ExecuteScalarAsync<long>("SELECT pg_current_xact_id()::text::bigint");
            await c.ExecuteAsync("""
                UPDATE meter_roller SET watermark = @watermark WHERE id = 1;
                INSERT INTO meter_events (account_id, livemode, id, event_name, customer_id, ts, properties, received_at, txid) VALUES
                  ('acct_ix', false, 'ev_before_roller', 'calls', 'cus_1', 3000000, '{}', 1, NULL),
                  ('acct_ix', false, 'ev_rolled', 'calls', 'cus_2', 2000000, '{}', 1, @rolled);
                INSERT INTO meter_events (account_id, livemode, id, event_name, customer_id, ts, properties, received_at)
                  VALUES ('acct_ix', false, 'ev_unrolled', 'calls', 'cus_1', 1000000, '{}', 1);
                """, new { watermark = now - 5, rolled = now - 10 });
        }
        await using var store = StoreFactory.Open(db, TimeProvider.System);
        await store.MigrateAsync();

        async Task AssertListedOnceAsync(string when)
        {
            var all = await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, null, null, null, null, null, 10));
            Assert.True(new[] { "ev_before_roller", "ev_rolled", "ev_unrolled" }.SequenceEqual(all.Select(e => e.Id)), $"{when}: [{string.Join(", ", all.Select(e => e.Id))}]");
            var customer = await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", "calls", null, null, null, 10));
            Assert.True(new[] { "ev_before_roller", "ev_unrolled" }.SequenceEqual(customer.Select(e => e.Id)), when);
            var inOrder = await store.ReadAsync(s => s.Metering.EventsInOrderAsync(Acme, "calls", null, 10));
            Assert.True(new[] { "ev_unrolled", "ev_rolled", "ev_before_roller" }.SequenceEqual(inOrder.Select(e => e.Id)), when);
        }
        await using (var c = new NpgsqlConnection(db))
        {
            await c.OpenAsync();
            Assert.Equal(["ev_before_roller", "ev_rolled"], await c.QueryAsync<string>("SELECT id FROM meter_event_index ORDER BY id"));
            Assert.Equal(["ev_before_roller", "ev_rolled"], await c.QueryAsync<string>("SELECT id FROM meter_event_times ORDER BY id"));
            Assert.Empty(await c.QueryAsync<string>("SELECT indexname FROM pg_indexes WHERE indexname IN ('meter_events_by_customer', 'meter_events_by_time')"));
        }
        await AssertListedOnceAsync("after the upgrade");

        // The roller takes the unrolled event (once every transaction below its position has ended) and indexes it.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await store.ReadAsync(s => s.Metering.RollerStatusAsync(10))).EventsBehind > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the roller did not catch up in 30 s");
            if ((await store.WriteRollupsAsync(s => RollMeterEvents.Execute(s, DateTimeOffset.UtcNow))).Events == 0) await Task.Delay(20);
        }
        await using (var c = new NpgsqlConnection(db))
        {
            await c.OpenAsync();
            Assert.Equal(["ev_before_roller", "ev_rolled", "ev_unrolled"], await c.QueryAsync<string>("SELECT id FROM meter_event_index ORDER BY id"));
        }
        await AssertListedOnceAsync("after the roll");
    }
}
