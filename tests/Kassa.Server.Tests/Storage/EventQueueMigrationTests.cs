using System.Data.Common;
using Dapper;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// The event-queue migration (ADR 0014) on a database that already holds events: the ones not yet dispatched
/// are queued and dispatched after the upgrade, the dispatched ones never again, and an event written after
/// it is queued by the trigger. A database is built with every migration before the queue, then the store
/// migrates the rest as a real upgrade would.
/// </summary>
public sealed class EventQueueMigrationTests
{
    private static IReadOnlyList<(int Version, string Name, string Sql)> ScriptsBefore(string engine, string queueScript)
    {
        var assembly = typeof(StoreFactory).Assembly;
        var prefix = $"migrations/{engine}/";
        var scripts = assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .Select(n =>
            {
                var file = n[prefix.Length..];
                using var reader = new StreamReader(assembly.GetManifestResourceStream(n)!);
                return (Version: int.Parse(file[..4], System.Globalization.CultureInfo.InvariantCulture), Name: Path.GetFileNameWithoutExtension(file), Sql: reader.ReadToEnd());
            }).ToList();
        var queue = scripts.Single(s => s.Name == queueScript);
        return scripts.Where(s => s.Version < queue.Version).ToList();
    }

    private static async Task BuildBeforeQueueAsync(DbConnection c, string engine, string queueScript, string falseLiteral, string trueLiteral)
    {
        await c.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
        foreach (var (version, name, sql) in ScriptsBefore(engine, queueScript))
        {
            await c.ExecuteAsync(sql);
            await c.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, 0)", new { version, name });
        }
        foreach (var (id, dispatched) in new[] { ("evt_old_sent", trueLiteral), ("evt_old_waiting_1", falseLiteral), ("evt_old_waiting_2", falseLiteral) })
        {
            await c.ExecuteAsync($$"""
                INSERT INTO events (account_id, livemode, id, type, object_type, object_id, data, request_id, created_at, dispatched)
                VALUES ('acct_m', {{falseLiteral}}, @id, 'customer.created', 'customer', 'cus_m', '{}', NULL, 1, {{dispatched}})
                """, new { id });
        }
    }

    private static async Task AssertQueueAfterUpgradeAsync(string db, Func<DbConnection> connect, string falseLiteral)
    {
        await using var store = StoreFactory.Open(db, TimeProvider.System);
        await store.MigrateAsync();
        var waiting = await store.ReadAsync(s => s.Events.UndispatchedAsync(10));
        Assert.Equal(["evt_old_waiting_1", "evt_old_waiting_2"], waiting.Select(e => e.Id));

        // Dispatched: gone from the queue for good.
        await store.WriteAsync(async s =>
        {
            await s.Events.MarkDispatchedAsync([waiting[0].Seq]);
            return true;
        });
        Assert.Equal(["evt_old_waiting_2"], (await store.ReadAsync(s => s.Events.UndispatchedAsync(10))).Select(e => e.Id));
        Assert.Equal(1, await store.ReadAsync(s => s.Backlog.UndispatchedEventsAsync(100)));

        // Written after the upgrade (here as an older node's insert would be): the trigger queues it.
        await using (var c = connect())
        {
            await c.OpenAsync();
            await c.ExecuteAsync($$"""
                INSERT INTO events (account_id, livemode, id, type, object_type, object_id, data, request_id, created_at, dispatched)
                VALUES ('acct_m', {{falseLiteral}}, 'evt_new', 'customer.updated', 'customer', 'cus_m', '{}', NULL, 2, {{falseLiteral}})
                """);
        }
        Assert.Equal(["evt_old_waiting_2", "evt_new"], (await store.ReadAsync(s => s.Events.UndispatchedAsync(10))).Select(e => e.Id));
    }

    [Fact]
    public async Task SQLite_queues_the_undispatched_events_it_held_before_the_upgrade()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kassa-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var db = $"Data Source={Path.Combine(dir, "kassa.db")}";
        await using (var c = new SqliteConnection(db))
        {
            await c.OpenAsync();
            await BuildBeforeQueueAsync(c, "sqlite", "0022_event_queue", "0", "1");
        }
        SqliteConnection.ClearAllPools();
        await AssertQueueAfterUpgradeAsync(db, () => new SqliteConnection(db), "0");
    }

    [Fact]
    public async Task PostgreSQL_queues_the_undispatched_events_it_held_before_the_upgrade()
    {
        var server = PostgresHost.ServerConnectionString();
        Assert.SkipWhen(server is null, "PostgreSQL is not available: set KASSA_TEST_PG");
        var name = "kassa_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var admin = new NpgsqlConnection(server))
        {
            await admin.OpenAsync();
            await admin.ExecuteAsync($"CREATE DATABASE {name}");
        }
        var db = $"{server};Database={name}";
        try
        {
            await using (var c = new NpgsqlConnection(db))
            {
                await c.OpenAsync();
                await BuildBeforeQueueAsync(c, "postgres", "0023_event_queue", "false", "true");
            }
            await AssertQueueAfterUpgradeAsync(db, () => new NpgsqlConnection(db), "false");
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = new NpgsqlConnection(server);
            await admin.OpenAsync();
            await admin.ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }
}
