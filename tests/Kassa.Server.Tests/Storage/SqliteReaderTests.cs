using Dapper;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Microsoft.Data.Sqlite;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// SQLite reads run on reader connections the store keeps open with their prepared statements. A kept
/// reader must not keep a read transaction between uses: it would answer from an old snapshot and hold
/// back every checkpoint that needs its frames.
/// </summary>
public sealed class SqliteReaderTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-reader-tests");

    public void Dispose() => _temp.Dispose();

    /// <summary>A migrated store on a fresh file with one meta row written through the writer.</summary>
    private async Task<SqliteStore> StoreWithRowAsync(string name, string value)
    {
        var store = new SqliteStore($"Data Source={_temp.File("kassa.db")}", TimeProvider.System);
        await store.MigrateAsync();
        await store.WriteAsync(s => s.Meta.GetOrAddAsync(name, value));
        return store;
    }

    [Fact]
    public async Task Every_statement_of_a_read_session_reads_one_snapshot()
    {
        await using var store = await StoreWithRowAsync("snap_a", "1");
        var (first, second) = await store.ReadAsync(async s =>
        {
            var a = await s.Meta.GetAsync("snap_a");
            // The writer commits while the session is open: a statement of the session after it still reads the
            // session's snapshot (each statement was its own transaction before, so a book's header and buckets
            // could straddle a batch's commit).
            await store.WriteAsync(w => w.Meta.GetOrAddAsync("snap_b", "2"));
            var b = await s.Meta.GetAsync("snap_b");
            return (a, b);
        });
        Assert.Equal("1", first);
        Assert.Null(second);
        // The next session starts from the newest commit, on the same kept connection.
        Assert.Equal("2", await store.ReadAsync(s => s.Meta.GetAsync("snap_b")));
    }

    [Fact]
    public async Task A_kept_reader_sees_the_newest_commit_and_holds_back_no_checkpoint()
    {
        await using var store = await StoreWithRowAsync("reader_a", "1");
        var path = _temp.File("kassa.db");

        // A read that stops after the first of several rows: its statement is left mid-way unless the
        // reader's disposal resets it, and an unreset statement keeps the read transaction open.
        var first = await store.ReadAsync(async s =>
        {
            await using var command = ((ISqlAccess)s).Connection.CreateCommand();
            command.CommandText = "SELECT name FROM sqlite_master ORDER BY name";
            await using var rows = await command.ExecuteReaderAsync();
            Assert.True(await rows.ReadAsync());
            return rows.GetString(0);
        });
        Assert.False(string.IsNullOrEmpty(first));
        Assert.Equal("1", await store.ReadAsync(s => s.Meta.GetAsync("reader_a")));

        await store.WriteAsync(s => s.Meta.GetOrAddAsync("reader_b", "2"));

        // No reader is inside a transaction: a TRUNCATE checkpoint copies every frame and empties the WAL.
        await using (var probe = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await probe.OpenAsync();
            var (busy, log, checkpointed) = await probe.QuerySingleAsync<(long, long, long)>("PRAGMA wal_checkpoint(TRUNCATE)");
            Assert.Equal(0, busy);
            Assert.Equal(log, checkpointed);
        }
        // The same kept connection (one read at a time takes the last one returned) sees the later commit.
        Assert.Equal("2", await store.ReadAsync(s => s.Meta.GetAsync("reader_b")));
        Assert.Equal(0L, new FileInfo(path + "-wal").Length);
    }

    [Fact]
    public async Task A_read_that_throws_mid_way_is_not_kept_and_holds_back_no_checkpoint()
    {
        await using var store = await StoreWithRowAsync("reader_c", "3");
        var path = _temp.File("kassa.db");

        // The work fails with a statement stepped and never reset (its reader left open): kept, that connection
        // would stay inside a read transaction for good.
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => store.ReadAsync<string>(async s =>
        {
            var command = ((ISqlAccess)s).Connection.CreateCommand();
            command.CommandText = "SELECT name FROM sqlite_master ORDER BY name";
            var rows = await command.ExecuteReaderAsync();
            Assert.True(await rows.ReadAsync());
            throw new InvalidOperationException("failed mid-read");
        }));
        Assert.Equal("failed mid-read", failed.Message);

        await store.WriteAsync(s => s.Meta.GetOrAddAsync("reader_d", "4"));
        await using (var probe = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await probe.OpenAsync();
            var (busy, log, checkpointed) = await probe.QuerySingleAsync<(long, long, long)>("PRAGMA wal_checkpoint(TRUNCATE)");
            Assert.Equal(0, busy);
            Assert.Equal(log, checkpointed);
        }
        Assert.Equal("4", await store.ReadAsync(s => s.Meta.GetAsync("reader_d")));
        Assert.Equal("3", await store.ReadAsync(s => s.Meta.GetAsync("reader_c")));
    }
}
