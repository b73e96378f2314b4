using Dapper;
using Kassa.Core.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Microsoft.Data.Sqlite;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// ADR 0020: the index file is written without fsync under a marker that says which boot of the machine may have left
/// it torn. A start in another boot that finds it dirty deletes the file and refills it; a process crash (same boot)
/// keeps it; the last store to close fsyncs it and marks it clean.
/// </summary>
public sealed class SqliteUnsyncedIndexTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-unsynced-index-tests");
    private static readonly Tenant Acme = new("acct_unsynced", false);
    private static readonly DateTimeOffset Hour = new(2026, 12, 6, 10, 0, 0, TimeSpan.Zero);

    public void Dispose() => _temp.Dispose();

    private static SqliteStore Open(string path, string? boot) => new($"Data Source={path}", TimeProvider.System) { BootId = boot };

    private static string Marker(SqliteStore store) => File.ReadAllText(store.IndexPath + "-unsynced").Trim();

    private static async Task<List<string>> ListAsync(SqliteStore store) =>
        (await store.ReadAsync(s => s.Balances.ListTransactionsAsync(Acme, "cus_1", null, null, 100))).Select(m => m.Id).ToList();

    private static Task<long> Scalar(IStoreSession session, string sql)
    {
        var s = (SqlSession)session;
        return s.Connection.ExecuteScalarAsync<long>(sql, transaction: s.Transaction);
    }

    /// <summary>What a torn index file would be told apart by here: a table the refill would not create.</summary>
    private static async Task<bool> HasSentinelAsync(string indexPath)
    {
        SqliteConnection.ClearAllPools();
        await using var c = new SqliteConnection($"Data Source={indexPath};Pooling=False");
        await c.OpenAsync();
        return await c.ExecuteScalarAsync<long>("SELECT count(*) FROM sqlite_schema WHERE name = 'sentinel'") == 1;
    }

    /// <summary>The state a store killed in the middle (or a machine crash) leaves: the marker dirty for <paramref name="boot"/>, a sentinel in the file.</summary>
    private static async Task LeaveDirtyAsync(string indexPath, string boot)
    {
        SqliteConnection.ClearAllPools();
        await using (var c = new SqliteConnection($"Data Source={indexPath};Pooling=False"))
        {
            await c.OpenAsync();
            await c.ExecuteAsync("CREATE TABLE IF NOT EXISTS sentinel (x INTEGER)");
        }
        await File.WriteAllTextAsync(indexPath + "-unsynced", $"dirty {boot}\n");
    }

    [Fact]
    public async Task A_start_in_another_boot_deletes_an_index_file_left_dirty_and_the_lists_stay_whole_while_it_refills()
    {
        var path = _temp.File("crash.db");
        var movements = Enumerable.Range(0, 4).Select(i => new CreditTransactionRecord(Acme.AccountId, Acme.Livemode, $"ctx_{i}", "cus_1", "api", "",
            MovementType.Consume, -1, null, 0, null, null, Hour.AddMinutes(i))).ToList();
        string indexPath;
        await using (var store = Open(path, "boot-a"))
        {
            await store.MigrateAsync();
            indexPath = store.IndexPath;
            Assert.Equal("dirty boot-a", Marker(store));
            // The indexer's connection writes the file without fsync, its checkpoints included.
            Assert.Equal(0L, await store.WriteEventIndexAsync(s => Scalar(s, "PRAGMA main.synchronous")));
            await store.WriteAsync(async s =>
            {
                await s.Balances.InsertTransactionsAsync(movements);
                return true;
            });
            Assert.Equal(4, await SqliteCreditIndexTests.IndexAsync(store));
        }
        // Closed by the last store: fsynced and clean, written over the dirty text at one fixed width (never truncated
        // first: a crash mid-write must not leave an empty marker).
        Assert.Equal("clean", (await File.ReadAllTextAsync(indexPath + "-unsynced")).Trim());
        Assert.Equal(64, new FileInfo(indexPath + "-unsynced").Length);

        // The process died (same boot): the kernel still held every write, so the file is kept.
        await LeaveDirtyAsync(indexPath, "boot-a");
        await using (var store = Open(path, "boot-a"))
        {
            await store.MigrateAsync();
            Assert.Equal(["ctx_3", "ctx_2", "ctx_1", "ctx_0"], await ListAsync(store));
        }
        Assert.True(await HasSentinelAsync(indexPath));

        // Clean, then started in another boot: kept too.
        await using (var store = Open(path, "boot-b"))
        {
            await store.MigrateAsync();
            Assert.Equal("dirty boot-b", Marker(store));
        }
        Assert.True(await HasSentinelAsync(indexPath));

        // The machine went down while it was dirty: deleted and refilled from the main file.
        await LeaveDirtyAsync(indexPath, "boot-b");
        await using (var store = Open(path, "boot-c"))
        {
            await store.MigrateAsync();
            Assert.Equal("dirty boot-c", Marker(store));
            // Nothing indexed yet: the list reads every movement by position, and whole.
            Assert.Equal(1L, await store.ReadAsync(s => Scalar(s, "SELECT watermark FROM eventindex.credit_indexer WHERE id = 1")));
            Assert.Equal(["ctx_3", "ctx_2", "ctx_1", "ctx_0"], await ListAsync(store));
            Assert.Equal(4, await SqliteCreditIndexTests.IndexAsync(store));
            Assert.Equal(["ctx_3", "ctx_2", "ctx_1", "ctx_0"], await ListAsync(store));
        }
        Assert.False(await HasSentinelAsync(indexPath));
    }

    [Fact]
    public async Task The_last_store_to_close_marks_the_file_clean_and_one_still_open_keeps_it_dirty()
    {
        var path = _temp.File("two.db");
        var first = Open(path, "boot-a");
        await first.MigrateAsync();
        await using (var c = new SqliteConnection($"Data Source={first.IndexPath};Pooling=False"))
        {
            await c.OpenAsync();
            await c.ExecuteAsync("CREATE TABLE sentinel (x INTEGER)");
        }
        // Even told it runs in another boot (which no live process can be), the second neither decides nor deletes
        // anything while the first holds the marker.
        await using (var second = Open(path, "boot-z"))
        {
            await second.MigrateAsync();
            Assert.Equal("dirty boot-a", Marker(second));
        }
        Assert.True(await HasSentinelAsync(first.IndexPath));
        Assert.Equal("dirty boot-a", Marker(first));
        await first.DisposeAsync();
        Assert.Equal("clean", (await File.ReadAllTextAsync(first.IndexPath + "-unsynced")).Trim());
    }

    [Fact]
    public async Task Without_a_boot_id_there_is_no_marker_and_the_file_is_written_with_fsync()
    {
        var path = _temp.File("synced.db");
        await using var store = Open(path, null);
        await store.MigrateAsync();
        Assert.False(File.Exists(store.IndexPath + "-unsynced"));
        Assert.Equal(1L, await store.WriteEventIndexAsync(s => Scalar(s, "PRAGMA main.synchronous")));
    }
}
