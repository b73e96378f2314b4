using Dapper;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Engine.Storage;
using Kassa.Storage;

namespace Kassa.Server.Tests.Storage;

/// <summary>The settings of SQLite's one writer connection that the write paths' cost depends on.</summary>
public sealed class SqliteWriterTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-writer-tests");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task The_writer_keeps_savepoint_journals_in_memory_and_a_savepoint_past_64_KiB_still_rolls_back_alone()
    {
        await using var store = new SqliteStore($"Data Source={_temp.File("kassa.db")}", TimeProvider.System);
        await store.MigrateAsync();

        var (tempStore, kept, undone) = await store.WriteAsync(async s =>
        {
            var connection = ((ISqlAccess)s).Connection;
            var transaction = ((ISqlAccess)s).Transaction;
            // 2 = MEMORY: a group-committed batch's savepoint sub-journals never become temporary files.
            var mode = await connection.ExecuteScalarAsync<long>("PRAGMA temp_store", transaction: transaction);
            await s.Meta.GetOrAddAsync("writer_kept", "1");
            var savepoints = (ISavepoints)s;
            await savepoints.SavepointAsync("big");
            // About 200 KiB of rows under the savepoint: past the 64 KiB at which a file-backed sub-journal spills.
            for (var i = 0; i < 200; i++) await s.Meta.GetOrAddAsync($"writer_undone_{i}", new string('x', 1000));
            await savepoints.RollbackToAsync("big");
            return (mode, await s.Meta.GetAsync("writer_kept"), await s.Meta.GetAsync("writer_undone_7"));
        });

        Assert.Equal(2, tempStore);
        Assert.Equal("1", kept);
        Assert.Null(undone);
        Assert.Equal("1", await store.ReadAsync(s => s.Meta.GetAsync("writer_kept")));
        Assert.Null(await store.ReadAsync(s => s.Meta.GetAsync("writer_undone_199")));
    }
}
