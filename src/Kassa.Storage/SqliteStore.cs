using System.Data.Common;
using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Kassa.Storage;

/// <summary>
/// The embedded default: one SQLite file in WAL mode with <c>synchronous=FULL</c> (a committed
/// write survives power loss). SQLite allows one writer at a time, so writes queue on a
/// process-wide gate instead of spinning on SQLITE_BUSY; each write transaction begins IMMEDIATE
/// so its write lock is taken up front, never upgraded mid-transaction. Readers run in parallel
/// on pooled connections and see the last commit (WAL snapshot isolation).
/// </summary>
public sealed class SqliteStore : IKassaStore
{
    private static readonly SqlDialect Dialect = new("sqlite", IsPostgres: false);
    private readonly string _connectionString;
    private readonly string _path;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly TimeProvider _time;

    public SqliteStore(string connectionString, TimeProvider time)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString)
        {
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        };
        _path = builder.DataSource;
        if (_path != ":memory:" && Path.GetDirectoryName(Path.GetFullPath(_path)) is { } dir) Directory.CreateDirectory(dir);
        _connectionString = builder.ToString();
        _time = time;
    }

    public string Engine => "sqlite";

    public string Describe() => $"sqlite ({Path.GetFullPath(_path)})";

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    /// <summary>
    /// A connection for one write transaction; call only while holding the write gate. Taken from
    /// the pool each time: measured with bench/platform.sh, one long-lived writer connection was
    /// about 30 % slower per write than a pooled reopen of the same physical connection.
    /// </summary>
    private async Task<SqliteConnection> OpenWriterAsync(CancellationToken ct)
    {
        var connection = await OpenAsync(ct);
        // synchronous=FULL: a commit is on disk (WAL fsynced) before the request is answered.
        // wal_autocheckpoint=0: the commit that crosses the WAL size limit would otherwise copy the whole
        // WAL into the database and fsync it before answering; the checkpointer below does that off the
        // write path instead, and the writer restarts the WAL past WalRestartBytes (RestartWalIfLargeAsync);
        // journal_size_limit trims the file back below that size (WalTrimBytes) once it is rewound.
        await connection.ExecuteAsync("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000; PRAGMA wal_autocheckpoint=0; " +
            $"PRAGMA cache_size=-65536; PRAGMA journal_size_limit={WalTrimBytes};");
        EnsureCheckpointer();
        return connection;
    }

    public async Task MigrateAsync(CancellationToken ct = default)
    {
        await _writeGate.WaitAsync(ct);
        try
        {
            await using var connection = await OpenWriterAsync(ct);
            // WAL is a property of the database file: set once, it stays for every later connection.
            await connection.ExecuteAsync("PRAGMA journal_mode=WAL;");
            await Migrator.ApplyAsync(connection, Engine, c => Task.FromResult<DbTransaction>(((SqliteConnection)c).BeginTransaction(deferred: false)),
                Micros.From(_time.GetUtcNow()), ct);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task PingAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await connection.ExecuteScalarAsync<long>("SELECT 1");
    }

    // Readers map the file (no read() call and copy per page missed) and keep a 16 MiB page cache: a pooled
    // connection keeps both between requests, and the pragmas cost a few microseconds per read.
    private const string ReaderPragmas = "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-16384;";

    public async Task<T> ReadAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await connection.ExecuteAsync(ReaderPragmas);
        return await work(new SqlSession(connection, null, Dialect));
    }

    public async Task<T> WriteAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default)
    {
        await _writeGate.WaitAsync(ct);
        try
        {
            await using var connection = await OpenWriterAsync(ct);
            await using var tx = connection.BeginTransaction(deferred: false);
            var session = new SqlSession(connection, tx, Dialect);
            var result = await work(session);
            if (commitIf is null || commitIf(result))
            {
                await session.FlushAsync();
                await tx.CommitAsync(CancellationToken.None);
            }
            else await tx.RollbackAsync(CancellationToken.None);
            await RestartWalIfLargeAsync(connection);
            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// WAL size past which the writer, still holding the write gate, checkpoints everything and restarts
    /// the WAL from its start before the next write begins (256 MiB; tests set less).
    /// </summary>
    public long WalRestartBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// What journal_size_limit trims the WAL file back to when it is rewound: a quarter of
    /// <see cref="WalRestartBytes"/>. It must stay below it — the restart is decided by the file's length,
    /// and with the two equal the trimmed file was still "at the limit", so every later write transaction
    /// ran a RESTART checkpoint (measured: 72 of them in a 10,000-renewal run, 130 s of a 100,000 one).
    /// </summary>
    public long WalTrimBytes => WalRestartBytes / 4;

    private long _walRestarts;

    /// <summary>How many times the writer restarted the WAL (a diagnostic, and what the WAL tests count).</summary>
    public long WalRestarts => Interlocked.Read(ref _walRestarts);

    /// <summary>
    /// The background checkpointer alone cannot bound the WAL under sustained writes: SQLite rewinds the WAL
    /// only when a write begins after every frame was copied, and back-to-back transactions always append
    /// new frames first (seen: a 76 GB WAL beside a 2 GB database after 13 minutes of event loading). So
    /// once the WAL passes <see cref="WalRestartBytes"/> the writer runs a RESTART checkpoint: it copies
    /// what the background passes have not, waits for readers still on old frames (busy_timeout) and makes
    /// the next write start at the beginning of the file; journal_size_limit then trims the file back.
    /// Writes wait meanwhile — back-pressure that keeps disk use bounded.
    /// </summary>
    private async Task RestartWalIfLargeAsync(SqliteConnection connection)
    {
        if (_path == ":memory:") return;
        var wal = new FileInfo(_path + "-wal");
        if (!wal.Exists || wal.Length < WalRestartBytes) return;
        try
        {
            await connection.ExecuteAsync("PRAGMA wal_checkpoint(RESTART);");
            Interlocked.Increment(ref _walRestarts);
        }
        catch (SqliteException)
        {
            // A reader held an old snapshot past busy_timeout: the committed write stands; the next one tries again.
        }
    }

    /// <summary>How often the checkpointer copies the WAL into the database file.</summary>
    public static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(500);

    private readonly CancellationTokenSource _stopping = new();
    private Task? _checkpointer;

    private void EnsureCheckpointer()
    {
        if (_checkpointer is not null || _path == ":memory:") return;
        // Called under the write gate, so at most one checkpointer starts.
        _checkpointer = Task.Run(() => CheckpointLoopAsync(_stopping.Token));
    }

    /// <summary>
    /// Checkpoints the WAL in the background (PASSIVE: it never waits for, nor blocks, the writer or
    /// readers; what a reader still needs is copied on a later pass). A writer restarts the WAL from the
    /// start once everything in it was copied, so the file stays small. With synchronous=FULL every
    /// commit is already durable in the WAL; the checkpoint only moves pages, so crashing mid-way
    /// loses nothing.
    /// </summary>
    private async Task CheckpointLoopAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // Real time, not the injected clock: this is housekeeping of the file, not a domain deadline.
                await Task.Delay(CheckpointInterval, ct);
                try
                {
                    await using var connection = await OpenAsync(ct);
                    await connection.ExecuteAsync("PRAGMA wal_checkpoint(PASSIVE);");
                }
                catch (SqliteException)
                {
                    // Busy or locked now: the next pass tries again; the WAL only grows meanwhile.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_checkpointer is not null) await _checkpointer;
        // This store's pool only: other stores in the process (tests run several) keep their connections.
        using (var own = new SqliteConnection(_connectionString)) SqliteConnection.ClearPool(own);
        _writeGate.Dispose();
        _stopping.Dispose();
    }
}
