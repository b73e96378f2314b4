using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// SQLite commits are made durable by a group fsync of the WAL outside the write gate (ADR 0011): a write
/// returns only after an fsync that started after its commit, one fsync covers every commit written before
/// it started, and a failed fsync fails every waiter then and after.
/// </summary>
public sealed class WalSyncTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-walsync-tests");

    public void Dispose() => _temp.Dispose();

    /// <summary>A flush that blocks until the test lets it go, counting the calls.</summary>
    private sealed class HeldFlush
    {
        private readonly SemaphoreSlim _release = new(0);
        private readonly SemaphoreSlim _entered = new(0);
        public int Calls;

        public void Flush(Microsoft.Win32.SafeHandles.SafeFileHandle _)
        {
            Interlocked.Increment(ref Calls);
            _entered.Release();
            _release.Wait(TimeSpan.FromSeconds(30));
        }

        public Task<bool> EnteredAsync() => _entered.WaitAsync(TimeSpan.FromSeconds(30));
        public void Let() => _release.Release();
    }

    [Fact]
    public async Task One_fsync_covers_every_commit_written_before_it_started_and_none_after()
    {
        var flush = new HeldFlush();
        using var sync = new WalSync(flush.Flush);
        sync.Use(File.OpenHandle(_temp.File("wal"), FileMode.Create, FileAccess.ReadWrite));
        var first = sync.WaitAsync(sync.Committed());
        Assert.True(await flush.EnteredAsync());
        // Committed while the first fsync runs: that fsync may have started before their frames were written.
        var later = Enumerable.Range(0, 3).Select(_ => sync.WaitAsync(sync.Committed())).ToList();
        await Task.Delay(50);
        Assert.False(first.IsCompleted);
        Assert.All(later, t => Assert.False(t.IsCompleted));

        flush.Let();
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(later, t => Assert.False(t.IsCompleted));
        // The second round covers all three at once.
        Assert.True(await flush.EnteredAsync());
        flush.Let();
        await Task.WhenAll(later).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, flush.Calls);
        Assert.Equal(2, sync.Syncs);
        // Already durable: no fsync at all.
        Assert.True(sync.WaitAsync(3).IsCompletedSuccessfully);
        Assert.Equal(2, flush.Calls);
    }

    [Fact]
    public async Task A_failed_fsync_fails_its_waiters_and_every_later_one()
    {
        var calls = 0;
        using var sync = new WalSync(_ =>
        {
            Interlocked.Increment(ref calls);
            throw new IOException("EIO");
        });
        sync.Use(File.OpenHandle(_temp.File("wal"), FileMode.Create, FileAccess.ReadWrite));
        var failed = await Assert.ThrowsAsync<IOException>(() => sync.WaitAsync(sync.Committed()));
        Assert.Contains("restart the server", failed.Message);
        Assert.Equal("EIO", failed.InnerException!.Message);
        // Pages the kernel could not write may be gone while a later fsync succeeds: nothing later is called durable.
        await Assert.ThrowsAsync<IOException>(() => sync.WaitAsync(sync.Committed()));
        Assert.Equal(1, calls);
        Assert.Equal(0, sync.Syncs);
    }

    [Fact]
    public async Task A_sqlite_write_returns_only_after_an_fsync_of_its_own_commit()
    {
        var path = _temp.File("kassa.db");
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        var before = store.WalSyncs;
        for (var i = 0; i < 5; i++)
        {
            var name = $"walsync_{i}";
            await store.WriteAsync(s => s.Meta.GetOrAddAsync(name, "x"));
        }
        // One after the other, each write waits for an fsync that started after its commit: five in all.
        Assert.Equal(5, store.WalSyncs - before);

        // A write that rolls back has nothing to make durable.
        await store.WriteAsync(async s =>
        {
            await s.Meta.GetOrAddAsync("walsync_rolled_back", "x");
            return false;
        }, commitIf: commit => commit);
        Assert.Equal(5, store.WalSyncs - before);
        Assert.Equal("x", await store.ReadAsync(s => s.Meta.GetAsync("walsync_4")));
        Assert.Null(await store.ReadAsync(s => s.Meta.GetAsync("walsync_rolled_back")));
    }
}
