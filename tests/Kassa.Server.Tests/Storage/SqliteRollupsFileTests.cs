using System.Text.Json;
using Dapper;
using Kassa.Core.Metering;
using Kassa.Engine.Common;
using Kassa.Engine.Metering;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Microsoft.Data.Sqlite;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// The SQLite rollups in their own file (ADR 0006): a database from before the move keeps its cells, distinct
/// values and watermark; an interrupted earlier move is redone from the main file; a roll's write no longer
/// holds ingest up.
/// </summary>
public sealed class SqliteRollupsFileTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-rollups-file-tests");
    private static readonly Tenant Acme = new("acct_roll", false);
    private static readonly DateTimeOffset Hour = new(2026, 11, 3, 10, 0, 0, TimeSpan.Zero);

    public void Dispose() => _temp.Dispose();

    private static readonly JsonElement NoProperties = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>Events e{first}…e{first + count − 1} of customer cus_1 at <see cref="Hour"/>.</summary>
    private static List<NormalizedEvent> Events(int first, int count) =>
        Enumerable.Range(first, count).Select(i => new NormalizedEvent($"e{i}", "tokens", "cus_1", Hour, NoProperties, "{}")).ToList();

    /// <summary>Every main-file migration before the move, applied by hand, and rollup rows written where they lived then.</summary>
    private static async Task BuildBeforeTheMoveAsync(string path)
    {
        await using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        await c.OpenAsync();
        await c.ExecuteAsync("PRAGMA journal_mode=WAL");
        await MigrationsBefore.ApplyAsync(c, "sqlite", "0024_rollups_in_own_file");
        var hour = Micros.From(Hour);
        await c.ExecuteAsync("""
            INSERT INTO meter_rollups (account_id, livemode, meter_id, customer_id, hour, group_key, count, sum, min, max, latest, latest_at, overflowed)
            VALUES ('acct_roll', 0, 'mtr_tokens', 'cus_1', @hour, '', 3, 4500000, 500000, 3000000, 1000000, @hour + 60000000, 0);
            INSERT INTO meter_unique_values (account_id, livemode, meter_id, customer_id, hour, group_key, value)
            VALUES ('acct_roll', 0, 'mtr_users', 'cus_1', @hour, '', 'u1'), ('acct_roll', 0, 'mtr_users', 'cus_1', @hour, '', 'u2');
            UPDATE meter_roller SET watermark = 42, rolled_events = 7, rolled_through = @hour, updated_at = @hour WHERE id = 1;
            INSERT INTO meter_events (account_id, livemode, id, event_name, customer_id, ts, properties, received_at, seq)
            VALUES ('acct_roll', 0, 'evt_last_rolled', 'tokens', 'cus_1', @hour, '{}', @hour, 41);
            """, new { hour });
    }

    private static async Task AssertMovedAsync(SqliteStore store, string path)
    {
        Assert.Equal(42, await store.ReadAsync(s => s.Metering.ReadWatermarkAsync()));
        var cells = await store.ReadAsync(s => s.Metering.LoadRollupsAsync(Acme, "mtr_tokens", "cus_1", Hour, Hour.AddHours(1), 10));
        var cell = Assert.Single(cells).Cell;
        Assert.Equal((3, 4_500_000, 500_000, 3_000_000, 1_000_000, Hour.AddMinutes(1)), (cell.Count, cell.Sum, cell.Min, cell.Max, cell.LatestValue, cell.LatestAt));
        var values = await store.ReadAsync(s => s.Metering.DistinctValuesAsync(Acme, "mtr_users", "cus_1", Hour, Hour.AddHours(1), 3_600_000_000, 10));
        Assert.Equal(["u1", "u2"], values.Select(v => v.Value).Order(StringComparer.Ordinal));
        var status = await store.ReadAsync(s => s.Metering.RollerStatusAsync(100));
        Assert.Equal(7, status.RolledEvents);
        // The event behind the watermark is in the event index, filled from the main file at the upgrade:
        // listed once, by customer and across customers.
        Assert.Equal(["evt_last_rolled"], (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", "tokens", null, null, null, 10))).Select(e => e.Id));
        Assert.Equal(["evt_last_rolled"], (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, null, null, Hour, Hour.AddHours(1), null, 10))).Select(e => e.Id));
        // Gone from the main file: the rollups file alone holds them.
        await using var main = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
        await main.OpenAsync();
        Assert.Empty(await main.QueryAsync<string>("SELECT name FROM sqlite_master WHERE name IN ('meter_rollups', 'meter_unique_values', 'meter_roller')"));
        Assert.True(File.Exists(store.RollupsPath));
        Assert.Equal(path + "-rollups", store.RollupsPath);
    }

    [Fact]
    public async Task A_chunk_cut_past_a_tenants_only_event_leaves_that_tenant_to_the_next_roll()
    {
        var path = _temp.File("cut.db");
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        var other = new Tenant("acct_other", true);
        Assert.Equal(2, (await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, Events(0, 2), Hour))).Count);
        Assert.Single(await store.WriteAsync(s => s.Metering.InsertEventsAsync(other, Events(10, 1), Hour)));

        // A bound of two: the store reads a third event to find the cut, and it is the other tenant's only one. The
        // chunk's tables then name a tenant none of its rows has (EventPass.Truncate keeps them): that tenant is not planned.
        var first = await store.ReadAsync(s => RollMeterEvents.PlanAsync(s, 2));
        Assert.Equal(2, first.Events);
        Assert.True(first.Full);
        Assert.Equal(new[] { Acme }, first.Tenants.Select(t => t.Tenant));
        Assert.Equal(first.Watermark + 2, first.Upper);
        Assert.NotNull(await store.WriteRollupsAsync(s => RollMeterEvents.ApplyAsync(s, first, Hour)));

        var second = await store.ReadAsync(s => RollMeterEvents.PlanAsync(s, 2));
        Assert.Equal(1, second.Events);
        Assert.False(second.Full);
        Assert.Equal(new[] { other }, second.Tenants.Select(t => t.Tenant));
        Assert.Equal(first.Upper, second.Watermark);
        Assert.Equal(second.Watermark + 1, second.Upper);
        Assert.NotNull(await store.WriteRollupsAsync(s => RollMeterEvents.ApplyAsync(s, second, Hour)));
        // Each of the three events rolled once: none skipped by the cut, none rolled twice.
        var status = await store.ReadAsync(s => s.Metering.RollerStatusAsync(100));
        Assert.Equal(3, status.RolledEvents);
        Assert.Equal(0, status.EventsBehind);
        Assert.Equal(second.Upper, await store.ReadAsync(s => s.Metering.ReadWatermarkAsync()));
    }

    [Fact]
    public async Task An_upgraded_database_keeps_its_rollups_distinct_values_and_watermark_in_the_rollups_file()
    {
        var path = _temp.File("upgrade.db");
        await BuildBeforeTheMoveAsync(path);
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        await AssertMovedAsync(store, path);
        // A second start changes nothing.
        await store.MigrateAsync();
        await AssertMovedAsync(store, path);
    }

    [Fact]
    public async Task A_move_interrupted_after_the_copy_is_copied_again_from_the_main_file()
    {
        var path = _temp.File("interrupted.db");
        await BuildBeforeTheMoveAsync(path);
        // As left by a crash between the copy's commit and the drop's: the rollups file exists and holds rows
        // (here different ones, so a copy that kept them would show).
        await using (var rollups = new SqliteConnection($"Data Source={path}-rollups;Pooling=False"))
        {
            await rollups.OpenAsync();
            await rollups.ExecuteAsync("PRAGMA journal_mode=WAL; CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
            foreach (var script in Migrator.Scripts("sqlite-rollups"))
            {
                await rollups.ExecuteAsync(script.Sql);
                await rollups.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, 0)", new { script.Version, script.Name });
            }
            await rollups.ExecuteAsync("""
                INSERT INTO meter_rollups (account_id, livemode, meter_id, customer_id, hour, group_key, count, sum, min, max, latest, latest_at, overflowed)
                VALUES ('acct_roll', 0, 'mtr_tokens', 'cus_1', @hour, '', 99, 1, 1, 1, 1, @hour, 0), ('acct_roll', 0, 'mtr_tokens', 'cus_1', @hour + 3600000000, '', 5, 5, 1, 1, 1, @hour, 0);
                UPDATE meter_roller SET watermark = 1000, rolled_events = 1000 WHERE id = 1;
                """, new { hour = Micros.From(Hour) });
        }
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        await AssertMovedAsync(store, path);
        Assert.Empty(await store.ReadAsync(s => s.Metering.LoadRollupsAsync(Acme, "mtr_tokens", "cus_1", Hour.AddHours(1), Hour.AddHours(2), 10)));
    }

    [Fact]
    public async Task Ingest_commits_while_a_roll_holds_the_rollups_file()
    {
        var path = _temp.File("beside.db");
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        Assert.Equal(5, (await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, Events(0, 5), Hour))).Count);

        var rollHolding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var roll = store.WriteRollupsAsync(async s =>
        {
            var outcome = await RollMeterEvents.Execute(s, Hour);
            rollHolding.SetResult();
            await release.Task;
            return outcome;
        });
        int inserted;
        bool rollStillOpen;
        try
        {
            await rollHolding.Task.WaitAsync(TimeSpan.FromSeconds(30));
            // The roll holds the rollups file's write lock: a main-file write goes through meanwhile.
            inserted = (await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, Events(5, 3), Hour)).WaitAsync(TimeSpan.FromSeconds(30))).Count;
            rollStillOpen = !roll.IsCompleted;
        }
        finally
        {
            // Released whatever happened, or the store's disposal would wait for the roll forever.
            release.TrySetResult();
        }
        Assert.Equal(3, inserted);
        Assert.True(rollStillOpen);
        var rolled = await roll.WaitAsync(TimeSpan.FromSeconds(30));
        // The roll read the main file from its first read, before the insert: the five events, not the three beside it.
        Assert.Equal(5, rolled.Events);
        var next = await store.WriteRollupsAsync(s => RollMeterEvents.Execute(s, Hour));
        Assert.Equal(3, next.Events);
        Assert.Equal(0, (await store.ReadAsync(s => s.Metering.RollerStatusAsync(100))).EventsBehind);
    }

    [Fact]
    public async Task A_main_write_in_progress_holds_no_snapshot_of_the_rollups_file_so_its_checkpoint_completes()
    {
        var path = _temp.File("snapshot.db");
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        var inside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var write = store.WriteAsync(async s =>
        {
            var stored = await s.Metering.InsertEventsAsync(Acme, Events(1, 1), Hour);
            inside.SetResult();
            await release.Task;
            return stored;
        });
        long busy;
        try
        {
            await inside.Task.WaitAsync(TimeSpan.FromSeconds(30));
            // A commit to the rollups file while the main write is open, then a checkpoint that must copy all of it
            // and start the WAL over: it cannot while any connection still reads an older snapshot (busy = 1).
            await using var rollups = new SqliteConnection($"Data Source={store.RollupsPath};Pooling=False");
            await rollups.OpenAsync();
            await rollups.ExecuteAsync("PRAGMA busy_timeout=0; UPDATE meter_roller SET updated_at = updated_at + 1 WHERE id = 1");
            (busy, _, _) = await rollups.QuerySingleAsync<(long, long, long)>("PRAGMA wal_checkpoint(TRUNCATE)");
        }
        finally
        {
            release.TrySetResult();
        }
        Assert.Equal(0, busy);
        Assert.Single(await write.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_rollups_file_ahead_of_the_database_is_refused_at_start_with_the_way_out()
    {
        var path = _temp.File("restored.db");
        await using (var store = new SqliteStore($"Data Source={path}", TimeProvider.System))
        {
            await store.MigrateAsync();
            await store.WriteAsync(s => s.Metering.InsertEventsAsync(Acme, Events(0, 4), Hour));
            Assert.Equal(4, (await store.WriteRollupsAsync(s => RollMeterEvents.Execute(s, Hour))).Events);
            Assert.Equal(5, await store.ReadAsync(s => s.Metering.ReadWatermarkAsync()));
        }
        SqliteConnection.ClearAllPools();
        // The main file as an older backup would have it: the last two events gone, the rollups file kept.
        await using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await c.OpenAsync();
            await c.ExecuteAsync("DELETE FROM meter_events WHERE seq > 2");
        }
        await using (var store = new SqliteStore($"Data Source={path}", TimeProvider.System))
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.MigrateAsync());
            Assert.Contains("watermark 5 is past the last stored event position 2", refused.Message, StringComparison.Ordinal);
            Assert.Contains("kassa meters rebuild", refused.Message, StringComparison.Ordinal);
        }
        SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(_temp.Path, "restored.db-rollups*")) File.Delete(file);
        await using (var store = new SqliteStore($"Data Source={path}", TimeProvider.System))
        {
            await store.MigrateAsync();
            // A new rollups file: nothing is behind its watermark yet, so the events are listed from the main file…
            Assert.Equal(["e1", "e0"], (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", null, null, null, null, 10))).Select(e => e.Id));
            Assert.Equal(2, (await store.WriteRollupsAsync(s => RollMeterEvents.Execute(s, Hour))).Events);
            // …and, once rolled, from the new file's event index: once each.
            Assert.Equal(["e1", "e0"], (await store.ReadAsync(s => s.Metering.ListEventsAsync(Acme, "cus_1", null, null, null, null, 10))).Select(e => e.Id));
        }
    }

    [Fact]
    public void An_in_memory_database_is_refused_with_the_reason()
    {
        var refused = Assert.Throws<ArgumentException>(() => new SqliteStore("Data Source=:memory:", TimeProvider.System));
        Assert.Contains("rollups live in a second file", refused.Message, StringComparison.Ordinal);
    }
}
