using System.Data.Common;
using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Kassa.Storage;

/// <summary>
/// The embedded default: one SQLite file in WAL mode with <c>synchronous=FULL</c> (a committed
/// write survives power loss). SQLite allows one writer at a time, so writes queue on a
/// process-wide gate instead of spinning on SQLITE_BUSY; each write transaction takes its write lock
/// up front (<see cref="BeginWrite"/>), never upgraded mid-transaction. The meter rollups live in a second
/// file with a writer of its own (<see cref="RollupsPath"/>, <see cref="WriteRollupsAsync{T}"/>). Readers run in parallel
/// on pooled connections and see the last commit (WAL snapshot isolation).
/// </summary>
public sealed class SqliteStore : IKassaStore
{
    private static readonly SqlDialect Dialect = new("sqlite", IsPostgres: false);
    private readonly string _connectionString;
    private readonly string _path;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly TimeProvider _time;

    /// <summary>
    /// SQLite's allocation statistics off (SQLITE_CONFIG_MEMSTATUS): with them on, every malloc and free of every
    /// connection takes one process-wide mutex to count bytes nobody reads here, and under concurrent reads the
    /// threads queue on it (perf of a read-only <c>check</c>: pthread mutex and futex wake-ups ~8 % of the server's
    /// CPU). Only possible before SQLite initializes itself, i.e. before the process opens its first connection;
    /// when something opened one earlier (a test host), the call is refused and the statistics stay on.
    /// </summary>
    static SqliteStore()
    {
        SQLitePCL.Batteries_V2.Init();
        _ = SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MEMSTATUS, 0);
    }

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
        if (string.IsNullOrEmpty(_path) || _path == ":memory:" || _path.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("The SQLite store needs a database file path: its meter rollups live in a second file beside it (ADR 0006). " +
                "An in-memory database or a file: URI cannot be used.");
        }
        var full = Path.GetFullPath(_path);
        if (Path.GetDirectoryName(full) is { } dir) Directory.CreateDirectory(dir);
        RollupsPath = full + "-rollups";
        IndexPath = full + "-index";
        // Opened as a URI, so that ATTACH may name the rollups file as one with its mode (read-only for all
        // but the roller's connection); SQLite reads URIs only on a connection opened from one.
        builder.DataSource = SqliteUri(full);
        _connectionString = builder.ToString();
        // The roller's connection opens the rollups file and attaches the main file read-only, so it can never
        // take the main file's write lock (SQLite refuses an attachment more writable than its connection, so
        // it cannot be the other way round). A pool of its own, by its own connection string.
        _rollerConnectionString = new SqliteConnectionStringBuilder(_connectionString) { DataSource = SqliteUri(RollupsPath), Mode = SqliteOpenMode.ReadWrite }.ToString();
        // The indexer's likewise: the index file, the main file attached read-only.
        _indexerConnectionString = new SqliteConnectionStringBuilder(_connectionString) { DataSource = SqliteUri(IndexPath), Mode = SqliteOpenMode.ReadWrite }.ToString();
        _time = time;
        _walSync = new WalSync();
    }

    /// <summary>
    /// The rollups file (ADR 0006): the meter roller's cells, distinct values and watermark, beside the main
    /// file as <c>&lt;db&gt;-rollups</c> (with its own <c>-wal</c> and <c>-shm</c>). SQLite locks each database
    /// file apart, so the roller writes there while ingest and every other write go on in the main file.
    /// Back it up with the main file; lost, <c>kassa meters rebuild</c> recomputes it from the raw events.
    /// </summary>
    public string RollupsPath { get; }

    private readonly string _rollerConnectionString;

    /// <summary>
    /// The event index file (ADR 0006, "The event index in its own file"): the events' customer and time orders
    /// behind the indexer's watermark, beside the main file as <c>&lt;db&gt;-index</c>. Its own lock and writer, so
    /// the indexer writes it while the roller writes the rollups file and ingest the main file. Derived from the
    /// main file alone: lost or from another moment, it is refilled at start.
    /// </summary>
    public string IndexPath { get; }

    private readonly string _indexerConnectionString;

    /// <summary>A SQLite URI for a file path: the three characters a URI gives meaning to are escaped.</summary>
    private static string SqliteUri(string path, string? mode = null) =>
        "file:" + path.Replace("%", "%25", StringComparison.Ordinal).Replace("?", "%3f", StringComparison.Ordinal).Replace("#", "%23", StringComparison.Ordinal) +
        (mode is null ? "" : "?mode=" + mode);

    /// <summary>
    /// Attaches the rollups file as <c>rollups</c>: read-only on the writer and the readers, writable on the
    /// migration's connection. Unqualified table names resolve there (the main file has none of its tables),
    /// so the SQL is the same as on PostgreSQL, where they share one database.
    /// </summary>
    private Task AttachRollupsAsync(SqliteConnection connection, string mode) => AttachAsync(connection, "rollups", RollupsPath, mode);

    /// <summary>Attaches the event index file as <c>eventindex</c>, as <see cref="AttachRollupsAsync"/> does the rollups file.</summary>
    private Task AttachIndexAsync(SqliteConnection connection, string mode) => AttachAsync(connection, "eventindex", IndexPath, mode);

    /// <summary>Attaches <paramref name="path"/> as <paramref name="schema"/> with a URI mode, unless a pooled connection has it already.</summary>
    private static async Task AttachAsync(SqliteConnection connection, string schema, string path, string mode)
    {
        if (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pragma_database_list WHERE name = @schema", new { schema }) > 0) return;
        await connection.ExecuteAsync($"ATTACH DATABASE @file AS {schema}", new { file = SqliteUri(path, mode) });
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
    /// The writer connection, opened on first use and kept with its statement cache (<see cref="KeptConnection"/>):
    /// its prepared statements then live across transactions, so a write batch no longer parses and plans every statement again
    /// (measured on the balance hot path: statement preparation was about a sixth of the writer loop's time
    /// when each transaction reopened a pooled connection, which finalizes its statements on close).
    /// Used only while holding the write gate; dropped after a failed write so a broken connection is not kept.
    /// </summary>
    private KeptConnection? _writer;

    private async Task<KeptConnection> OpenWriterAsync(CancellationToken ct)
    {
        if (_writer is not null) return _writer;
        var connection = await OpenAsync(ct);
        // synchronous=NORMAL: a COMMIT writes the WAL without fsync; WalSync then fsyncs it outside the write
        // gate, once for every commit waiting, before anyone is answered (ADR 0011) — as durable as FULL.
        // wal_autocheckpoint=0: the commit that crosses the WAL size limit would otherwise copy the whole
        // WAL into the database and fsync it before answering; the checkpointer below does that off the
        // write path instead, and the writer restarts the WAL past WalRestartBytes (RestartWalIfLargeAsync);
        // journal_size_limit trims the file back below that size (WalTrimBytes) once it is rewound.
        // temp_store=MEMORY: a savepoint's sub-journal (the pages it changed, kept to roll it back alone) lives
        // in memory. On a file it spilled past 64 KiB into a temporary file that every savepoint after wrote
        // again with pwrite: a batch of group-committed mutations (a savepoint per request) did half of its
        // writes to that file (strace under PUT load; +5–7 % PUT throughput, bench/README.md). It holds the
        // original of each page a savepoint changed, and the writer's sorts, both bounded by the row limits
        // every write statement carries.
        // cache_size 8 MiB with the file mapped (mmap_size as the readers): SQLite ends every write transaction
        // by dropping cached pages past the end of the file, and when a B-tree split in it parked a page at
        // the pending-byte page number (balance_nonroot does, for a moment), that drop walks the whole cache's
        // hash table. With a 64 MiB cache (16,384 pages) that walk was 8.5 % of the server's CPU under check
        // over 10,000 customers and half of each commit (0.70 → 0.37 ms a batch with 8 MiB, bench/README.md).
        // Pages the cache misses are copied from the mapping, without a read() call.
        try
        {
            await connection.ExecuteAsync("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000; PRAGMA wal_autocheckpoint=0; " +
                $"PRAGMA temp_store=MEMORY; PRAGMA main.mmap_size={MappedBytes}; PRAGMA main.cache_size=-8192; PRAGMA journal_size_limit={WalTrimBytes};");
            // Read-only: a renewal bills metered usage, which reads the rollups and the event index (see BeginWrite
            // for why its transactions do not open these files unless they read them).
            await AttachRollupsAsync(connection, "ro");
            await AttachIndexAsync(connection, "ro");
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        EnsureCheckpointer();
        _writer = new KeptConnection(connection, new SqliteStatementCache(connection), 0);
        _takeWriteLock = connection.CreateCommand();
        _takeWriteLock.CommandText = "UPDATE main.schema_migrations SET version = version WHERE 0";
        return _writer;
    }

    /// <summary>
    /// The balance writer's memory of the balances it wrote (ADR 0021): one per store, used only inside main-file
    /// write transactions (the write gate serializes every user), trusted only through the file's epoch row.
    /// </summary>
    private readonly Kassa.Engine.Balances.BalanceCache _balanceMemory = new();

    public Kassa.Engine.Balances.BalanceCache BalanceMemory => _balanceMemory;

    /// <summary>The writer's no-op update that takes the main file's write lock (<see cref="BeginWrite"/>); prepared once per writer connection.</summary>
    private SqliteCommand? _takeWriteLock;

    /// <summary>
    /// Begins a main-file write transaction holding the write lock from the start, as BEGIN IMMEDIATE would.
    /// Not BEGIN IMMEDIATE itself: that opens a transaction on every attached file, the read-only rollups file
    /// included, and a writer that is nearly always inside one then held a snapshot of the rollups file all
    /// the time, so the roller's checkpoints never completed and that file's WAL grew without end (190 MB in
    /// 20 s of ingest). A deferred BEGIN and an update that matches no row take only the main file's write
    /// lock (a statement that may write takes it whatever it matches) and write no page; the rollups file
    /// is opened only by a transaction that reads it, until its commit.
    /// </summary>
    private SqliteTransaction BeginWrite(KeptConnection writer)
    {
        var tx = writer.Connection.BeginTransaction(deferred: true);
        try
        {
            _takeWriteLock!.Transaction = tx;
            _takeWriteLock.ExecuteNonQuery();
            return tx;
        }
        catch
        {
            tx.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether <see cref="_walSync"/> has the WAL file of the current writer connection; opened while the
    /// connection is inside a transaction, when the file surely exists and is the live one.
    /// </summary>
    private bool _walAttached;

    private void AttachWal()
    {
        if (_walAttached) return;
        _walSync.Use(File.OpenHandle(Path.GetFullPath(_path) + "-wal", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete));
        _walAttached = true;
    }

    /// <summary>
    /// Closes the kept writer connection (after a failure, at a migration's end, at dispose, or when the
    /// database is taken away, see <see cref="DropConnections"/>); the next write opens a fresh one.
    /// </summary>
    private void DropWriter()
    {
        _walAttached = false;
        _takeWriteLock?.Dispose();
        _takeWriteLock = null;
        _writer?.Close();
        _writer = null;
    }

    /// <summary>Group fsync of the main file's WAL (see <see cref="WalSync"/>).</summary>
    private readonly WalSync _walSync;

    /// <summary>fsyncs of the WAL the store ran to make commits durable (each covers every commit before it).</summary>
    public long WalSyncs => _walSync.Syncs;

    public async Task MigrateAsync(CancellationToken ct = default)
    {
        await _writeGate.WaitAsync(ct);
        await _rollerGate.WaitAsync(ct);
        await _indexerGate.WaitAsync(ct);
        try
        {
            var now = Micros.From(_time.GetUtcNow());
            // Before any connection opens the index file: deleted if a machine crash may have torn it (ADR 0020).
            _unsyncedIndex ??= await UnsyncedIndexFile.OpenAsync(IndexPath, BootId, UnsyncedMarkerWait, ct);
            // The event index file first: the rollups file's migration 0003 moves its former index there.
            await using (var index = new SqliteConnection(new SqliteConnectionStringBuilder(_connectionString) { DataSource = SqliteUri(IndexPath), Pooling = false }.ToString()))
            {
                await index.OpenAsync(ct);
                await index.ExecuteAsync("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=30000;");
                await Migrator.ApplyAsync(index, "sqlite-index", Begin, now, ct);
            }
            // The rollups file first, with its own numbered scripts: the main file's attach it from now on.
            // Its own connections, unpooled and at synchronous=FULL (the default): each script is durable when it commits.
            await using (var rollups = new SqliteConnection(new SqliteConnectionStringBuilder(_connectionString) { DataSource = SqliteUri(RollupsPath), Pooling = false }.ToString()))
            {
                await rollups.OpenAsync(ct);
                await rollups.ExecuteAsync("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=30000;");
                await Migrator.ApplyAsync(rollups, "sqlite-rollups", Begin, now, ct,
                    beforeScript: script => script.Name == "0003_event_index_own_file" ? MoveEventIndexAsync(rollups) : Task.CompletedTask);
            }
            await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString());
            await connection.OpenAsync(ct);
            // WAL is a property of the database file: set once, it stays for every later connection.
            await connection.ExecuteAsync("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000; PRAGMA temp_store=MEMORY;");
            // Writable here only: moving the rollups out of the main file writes both.
            await AttachRollupsAsync(connection, "rw");
            await AttachIndexAsync(connection, "rw");
            await Migrator.ApplyAsync(connection, Engine, Begin, now, ct,
                beforeScript: script => script.Name == "0024_rollups_in_own_file" ? MoveRollupsAsync(connection) : Task.CompletedTask);
            await RefuseRollupsAheadAsync(connection);
            await FillEventIndexAsync(connection);
            await EmptyCreditIndexAheadAsync(connection);
        }
        finally
        {
            // Statements prepared before the migration are not kept into the new schema.
            DropWriter();
            DropRollerWriter();
            DropIndexerWriter();
            _indexerGate.Release();
            _rollerGate.Release();
            _writeGate.Release();
        }

        static Task<DbTransaction> Begin(DbConnection c) => Task.FromResult<DbTransaction>(((SqliteConnection)c).BeginTransaction(deferred: false));
    }

    /// <summary>
    /// Ingest numbers new events after the highest stored position (SqlMetering), without reading the rollups
    /// file. That is right as long as the watermark is at most one past it, which holds by construction: a
    /// roll ends at a position it read, and commits only once those events are durable. Only two files from
    /// different moments (a restore of one of them) break it, and then new events would be numbered below the
    /// watermark and never folded: refused at start, with the way out.
    /// </summary>
    private async Task RefuseRollupsAheadAsync(SqliteConnection connection)
    {
        var (watermark, last) = await connection.QuerySingleAsync<(long, long)>(
            "SELECT (SELECT watermark FROM rollups.meter_roller WHERE id = 1), (SELECT coalesce(max(seq), 0) FROM main.meter_events WHERE seq IS NOT NULL)");
        if (watermark <= last + 1) return;
        throw new InvalidOperationException(
            $"The meter rollups file {RollupsPath} is ahead of the database (its watermark {watermark} is past the last stored event position {last}): " +
            "the two files come from different moments. Restore them together, or delete the rollups file (with its -wal and -shm), start Kassa " +
            "and run `kassa meters rebuild --meter <id>` for each meter.");
    }

    /// <summary>
    /// Before the rollups file's migration 0003 drops them: the event index tables it held (ADR 0006 before the
    /// index had a file of its own), copied into the index file with the rollups watermark as the indexer's — the
    /// events they hold — in one transaction of the index file, unless the index file was filled already (the
    /// copy committed and the drop did not: a crash between the two, each atomic in its own file). A rollups file
    /// whose index was never filled (events_indexed = 0) has nothing to copy: the index file is filled from the
    /// main file after the migrations instead (<see cref="FillEventIndexAsync"/>).
    /// </summary>
    private async Task MoveEventIndexAsync(SqliteConnection rollups)
    {
        await AttachIndexAsync(rollups, "rw");
        try
        {
            var (indexed, filled) = await rollups.QuerySingleAsync<(long, long)>(
                "SELECT (SELECT events_indexed FROM main.meter_roller WHERE id = 1), (SELECT filled FROM eventindex.meter_indexer WHERE id = 1)");
            if (indexed == 0 || filled != 0) return;
            await using var tx = rollups.BeginTransaction(deferred: false);
            await rollups.ExecuteAsync("""
                INSERT INTO eventindex.meter_event_index (account_id, livemode, customer_id, ts, id, event_name)
                  SELECT account_id, livemode, customer_id, ts, id, event_name FROM main.meter_event_index;
                INSERT INTO eventindex.meter_event_times (account_id, livemode, ts, id, customer_id, event_name)
                  SELECT account_id, livemode, ts, id, customer_id, event_name FROM main.meter_event_times;
                UPDATE eventindex.meter_indexer SET filled = 1, watermark = (SELECT watermark FROM main.meter_roller WHERE id = 1) WHERE id = 1;
                """, transaction: tx);
            await tx.CommitAsync();
        }
        finally
        {
            await rollups.ExecuteAsync("DETACH DATABASE eventindex");
        }
    }

    /// <summary>
    /// The event index file must hold every event behind its watermark before the store answers a list or
    /// usage query. A new one (first start of this version, or the file deleted) is filled here with the events
    /// that have no position (stored before the roller existed, which the indexer, walking positions, never
    /// reads); the indexer takes the rest from position 1. One from another moment than the main file (its
    /// watermark past the last position: a restore of one file) is emptied and filled again, since it is
    /// derived from the main file alone. Each step is one transaction of the index file, rows and marks together.
    /// </summary>
    private static async Task FillEventIndexAsync(SqliteConnection connection)
    {
        var (watermark, last, filled) = await connection.QuerySingleAsync<(long, long, long)>("""
            SELECT (SELECT watermark FROM eventindex.meter_indexer WHERE id = 1), (SELECT coalesce(max(seq), 0) FROM main.meter_events WHERE seq IS NOT NULL),
                   (SELECT filled FROM eventindex.meter_indexer WHERE id = 1)
            """);
        if (watermark > last + 1)
        {
            await using var reset = connection.BeginTransaction(deferred: false);
            await connection.ExecuteAsync("""
                DELETE FROM eventindex.meter_event_index; DELETE FROM eventindex.meter_event_times;
                DELETE FROM eventindex.meter_event_runs; DELETE FROM eventindex.meter_event_run_list;
                UPDATE eventindex.meter_indexer SET watermark = 1, filled = 0, passes = 0 WHERE id = 1;
                """, transaction: reset);
            await reset.CommitAsync();
            filled = 0;
        }
        if (filled != 0) return;
        await using var tx = connection.BeginTransaction(deferred: false);
        await connection.ExecuteAsync("""
            INSERT INTO eventindex.meter_event_index (account_id, livemode, customer_id, ts, id, event_name)
              SELECT account_id, livemode, customer_id, ts, id, event_name FROM main.meter_events WHERE seq IS NULL
              ON CONFLICT DO NOTHING;
            INSERT INTO eventindex.meter_event_times (account_id, livemode, ts, id, customer_id, event_name)
              SELECT account_id, livemode, ts, id, customer_id, event_name FROM main.meter_events WHERE seq IS NULL
              ON CONFLICT DO NOTHING;
            UPDATE eventindex.meter_indexer SET filled = 1 WHERE id = 1;
            """, transaction: tx);
        await tx.CommitAsync();
    }

    /// <summary>
    /// The credit index (ADR 0018) must hold only movements the main file has, and every one behind its watermark. One
    /// from another moment (its watermark past the last movement's position: a restore of one file) is emptied, in one
    /// transaction of the index file; the indexer then takes every movement from position 1, and a customer's list
    /// reads them by position until it has. A new file starts there anyway.
    /// </summary>
    private static async Task EmptyCreditIndexAheadAsync(SqliteConnection connection)
    {
        var (watermark, last) = await connection.QuerySingleAsync<(long, long)>(
            "SELECT (SELECT watermark FROM eventindex.credit_indexer WHERE id = 1), (SELECT coalesce(max(rowid), 0) FROM main.credit_transactions)");
        if (watermark <= last + 1) return;
        await using var reset = connection.BeginTransaction(deferred: false);
        await connection.ExecuteAsync("""
            DELETE FROM eventindex.credit_transaction_index; DELETE FROM eventindex.credit_transaction_runs; DELETE FROM eventindex.credit_transaction_run_list;
            UPDATE eventindex.credit_indexer SET watermark = 1, passes = 0, indexed_movements = 0 WHERE id = 1;
            """, transaction: reset);
        await reset.CommitAsync();
    }

    /// <summary>
    /// Before main's migration 0024 drops them: the rollup tables' rows, copied from the main file into the
    /// rollups file in one transaction of that file, replacing whatever is there. A commit spanning two WAL
    /// files is atomic per file only, so the copy commits (durably: synchronous=FULL on this connection)
    /// before the drop begins; a crash between the two leaves both copies, and the next start copies again.
    /// </summary>
    private static async Task MoveRollupsAsync(SqliteConnection connection)
    {
        if (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name = 'meter_roller'") == 0) return;
        const string key = "account_id, livemode, meter_id, customer_id, hour, group_key";
        await using var tx = connection.BeginTransaction(deferred: false);
        await connection.ExecuteAsync($"""
            DELETE FROM rollups.meter_rollups;
            INSERT INTO rollups.meter_rollups ({key}, count, sum, min, max, latest, latest_at, overflowed)
              SELECT {key}, count, sum, min, max, latest, latest_at, overflowed FROM main.meter_rollups;
            DELETE FROM rollups.meter_unique_values;
            INSERT INTO rollups.meter_unique_values ({key}, value) SELECT {key}, value FROM main.meter_unique_values;
            DELETE FROM rollups.meter_roller;
            INSERT INTO rollups.meter_roller (id, watermark, rolled_through, rolled_events, updated_at)
              SELECT id, watermark, rolled_through, rolled_events, updated_at FROM main.meter_roller;
            """, transaction: tx);
        await tx.CommitAsync();
    }

    /// <summary>
    /// Closes the kept writer connection and this store's pooled ones, so the next operation opens the file
    /// again: what an unmounted volume does to open files, for the outage tests (which move the folder away).
    /// </summary>
    public async Task DropConnectionsAsync()
    {
        await _writeGate.WaitAsync();
        try
        {
            DropWriter();
        }
        finally
        {
            _writeGate.Release();
        }
        await _rollerGate.WaitAsync();
        try
        {
            DropRollerWriter();
        }
        finally
        {
            _rollerGate.Release();
        }
        await _indexerGate.WaitAsync();
        try
        {
            DropIndexerWriter();
        }
        finally
        {
            _indexerGate.Release();
        }
        DropReaders();
        using (var own = new SqliteConnection(_connectionString)) SqliteConnection.ClearPool(own);
        using (var roller = new SqliteConnection(_rollerConnectionString)) SqliteConnection.ClearPool(roller);
        using (var indexer = new SqliteConnection(_indexerConnectionString)) SqliteConnection.ClearPool(indexer);
    }

    public async Task PingAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await connection.ExecuteScalarAsync<long>("SELECT 1");
    }

    // Readers map the file (no read() call and copy per page missed) and keep a 16 MiB page cache; set once
    // when a reader connection is opened, which then stays open (see _readers).
    private static readonly string ReaderPragmas = $"PRAGMA mmap_size={MappedBytes}; PRAGMA cache_size=-16384;";

    /// <summary>How much of the main file the writer and readers map (1 GiB; past it pages are read with read()).</summary>
    private const long MappedBytes = 1L << 30;

    /// <summary>
    /// Reader connections kept open with their prepared statements, as the writer keeps its own: a pooled
    /// connection of Microsoft.Data.Sqlite finalizes its statements when closed, so every read used to parse
    /// and plan each of its statements again (measured: a read-only <c>check</c> or <c>GET /v1/customers/{id}</c>
    /// spent most of ~1 ms of CPU compiling SQL, 1,400–1,800 requests/s on 2 cores). At most
    /// <see cref="ReadersKept"/> are kept; a burst beyond that opens more and closes them after use.
    /// A kept reader holds no read transaction between uses: every statement is reset when its reader
    /// is disposed (checked by a test), so it sees the newest commit and never holds back a checkpoint.
    /// </summary>
    private readonly Stack<KeptConnection> _readers = new();
    public const int ReadersKept = 64;

    /// <summary>Bumped by <see cref="DropConnectionsAsync"/>: a reader rented before it is closed, not kept.</summary>
    private int _readerGeneration;

    /// <summary>
    /// A connection kept open with its statement cache (the writer, or a reader of <see cref="_readers"/>);
    /// <paramref name="Generation"/> tells a reader rented before <see cref="DropReaders"/> apart.
    /// </summary>
    private sealed record KeptConnection(SqliteConnection Connection, SqliteStatementCache Statements, int Generation)
    {
        public void Close()
        {
            Statements.DisposeStatements();
            Connection.Dispose();
        }
    }

    private async Task<KeptConnection> RentReaderAsync(CancellationToken ct)
    {
        lock (_readers)
        {
            if (_readers.TryPop(out var kept)) return kept;
        }
        var generation = Volatile.Read(ref _readerGeneration);
        var connection = await OpenAsync(ct);
        try
        {
            await connection.ExecuteAsync(ReaderPragmas);
            await AttachRollupsAsync(connection, "ro");
            await AttachIndexAsync(connection, "ro");
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        return new KeptConnection(connection, new SqliteStatementCache(connection), generation);
    }

    /// <summary>Keeps a reader that finished its work, unless the work failed (the connection may be broken) or the pool is full.</summary>
    private void ReturnReader(KeptConnection reader, bool succeeded)
    {
        if (succeeded && reader.Generation == Volatile.Read(ref _readerGeneration))
        {
            lock (_readers)
            {
                if (_readers.Count < ReadersKept)
                {
                    _readers.Push(reader);
                    return;
                }
            }
        }
        reader.Close();
    }

    private void DropReaders()
    {
        Interlocked.Increment(ref _readerGeneration);
        List<KeptConnection> dropped;
        lock (_readers)
        {
            dropped = [.. _readers];
            _readers.Clear();
        }
        foreach (var reader in dropped) reader.Close();
    }

    public async Task<T> ReadAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default)
    {
        var reader = await RentReaderAsync(ct);
        var succeeded = false;
        try
        {
            // One read transaction for the whole session (a deferred BEGIN takes nothing until the first read): every
            // statement of the session reads the same snapshot — a book's headers and buckets were read by separate
            // statements, each its own transaction, so a commit could fall between them — and the file's locks, the
            // WAL read mark and SQLite's checks of the file (a hot journal, its size) are taken once a session instead
            // of once a statement: fcntl and fstat were ~12 % of a read-only check's CPU.
            RunKept(reader, "BEGIN");
            var result = await work(new SqlSession(reader.Connection, null, Dialect, reader.Statements));
            succeeded = true;
            return result;
        }
        finally
        {
            // Ended whatever happened: a connection left inside a transaction would pin an old snapshot (and the
            // WAL behind it) for its next user; one whose transaction cannot be ended is not kept.
            if (!TryEndRead(reader)) succeeded = false;
            ReturnReader(reader, succeeded);
        }
    }

    /// <summary>Runs a statement without parameters or rows through the connection's kept prepared statements.</summary>
    private static void RunKept(KeptConnection connection, string sql)
    {
        if (!connection.Statements.TryRun(sql))
            throw new InvalidOperationException($"'{sql}' could not run on a reader connection (busy)");
    }

    private static bool TryEndRead(KeptConnection reader)
    {
        try
        {
            if (SQLitePCL.raw.sqlite3_get_autocommit(reader.Connection.Handle!) == 0) RunKept(reader, "COMMIT");
            return SQLitePCL.raw.sqlite3_get_autocommit(reader.Connection.Handle!) != 0;
        }
        catch (Exception)
        {
            return false;
        }
    }

    public async Task<T> WriteAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default)
    {
        var committed = await WriteCommittedAsync(work, commitIf, ct);
        await committed.Durable;
        return committed.Result;
    }

    public async Task<Committed<T>> WriteCommittedAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default)
    {
        await _writeGate.WaitAsync(ct);
        long sequence = 0;
        T result;
        try
        {
            var writer = await OpenWriterAsync(ct);
            await using (var tx = BeginWrite(writer))
            {
                // Before any work: a WAL that cannot be opened fails the write while it can still roll back.
                AttachWal();
                var session = new SqlSession(writer.Connection, tx, Dialect, writer.Statements, _balanceMemory);
                result = await work(session);
                if (commitIf is null || commitIf(result))
                {
                    await session.FlushAsync();
                    // Numbered while the gate is held, so numbers follow the order commits reach the WAL; and
                    // together with the COMMIT under _commitNumbering, so no other connection can see a commit
                    // before it has its number (MainCommitsDurableAsync). A WAL commit never waits for readers.
                    lock (_commitNumbering)
                    {
                        tx.Commit();
                        sequence = _walSync.Committed();
                    }
                }
                else await tx.RollbackAsync(CancellationToken.None);
            }
            await RestartWalIfLargeAsync(writer.Connection);
        }
        catch
        {
            // Whatever failed (a constraint, a full disk, a lost file), the transaction is gone; a fresh
            // connection for the next write costs one open, and never inherits a broken state.
            DropWriter();
            throw;
        }
        finally
        {
            _writeGate.Release();
        }
        // The fsync runs outside the gate: the next transaction writes while this one is made durable.
        return new Committed<T>(result, sequence == 0 ? Task.CompletedTask : _walSync.WaitAsync(sequence));
    }

    /// <summary>The roller's gate: one write transaction at a time in the rollups file.</summary>
    private readonly SemaphoreSlim _rollerGate = new(1, 1);

    /// <summary>
    /// The roller's kept connection: the rollups file, with the main file attached read-only as <c>events</c>
    /// (unqualified names find the events and meters there); used only under <see cref="_rollerGate"/>.
    /// </summary>
    private KeptConnection? _rollerWriter;

    private async Task<KeptConnection> OpenRollerWriterAsync(CancellationToken ct) =>
        // The event index too, read-only: a rebuild reads the rolled events through it.
        _rollerWriter ??= await OpenBesideAsync(_rollerConnectionString, connection => AttachIndexAsync(connection, "ro"), ct);

    /// <summary>
    /// Opens the writer of a file beside the main one (the rollups or the event index file, ADR 0006): that file
    /// writable, the main file attached read-only as <c>events</c>, so it can never take the main file's write lock.
    /// </summary>
    private async Task<KeptConnection> OpenBesideAsync(string connectionString, Func<SqliteConnection, Task>? attachMore, CancellationToken ct, bool unsynced = false)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(ct);
            await AttachAsync(connection, "events", Path.GetFullPath(_path), "ro");
            if (attachMore is not null) await attachMore(connection);
            // synchronous=NORMAL: a commit here is not fsynced. A power loss may take the last rolls (passes) back
            // with it, watermark and rows together (one file, one commit), and the loop does them again; what it
            // must never do is keep rows for events the main file lost, which WriteBesideAsync rules out by waiting
            // for the events' fsync before committing. The automatic checkpoint (default 1,000 pages) copies the
            // file's WAL back at the end of a write.
            // synchronous=OFF (the index file under its marker, ADR 0020): its checkpoints do not fsync either; a machine
            // crash may tear it, and the next start then deletes it and refills it from the main file.
            await connection.ExecuteAsync($"PRAGMA main.synchronous={(unsynced ? "OFF" : "NORMAL")}; PRAGMA busy_timeout=30000; PRAGMA temp_store=MEMORY; " +
                $"PRAGMA main.cache_size=-65536; PRAGMA main.journal_size_limit={RollupsWalTrimBytes};");
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        return new KeptConnection(connection, new SqliteStatementCache(connection), 0);
    }

    /// <summary>What the rollups file's WAL is trimmed back to after its checkpoints (16 MiB).</summary>
    private const long RollupsWalTrimBytes = 16L * 1024 * 1024;

    private void DropRollerWriter()
    {
        _rollerWriter?.Close();
        _rollerWriter = null;
    }

    /// <summary>
    /// A write of the rollups file (ADR 0006): under its own lock, beside the main file's writer, on a
    /// connection that reads the main file at one snapshot (from its first read of it) and cannot write it. Before the
    /// commit it waits until every main-file commit made before then is on disk: the events the work read
    /// were committed, so this makes them durable before a roll of them can be, and a power loss never leaves
    /// rollups of events that are gone (whose retried ingest would then be counted twice).
    /// </summary>
    public Task<T> WriteRollupsAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default) =>
        WriteBesideAsync(_rollerGate, OpenRollerWriterAsync, DropRollerWriter, work, ct);

    /// <summary>
    /// A write transaction of a file beside the main one, under its gate, durable-ordered after the main file's
    /// commits it may have read (see <see cref="WriteRollupsAsync{T}"/>); a failure drops the kept connection.
    /// </summary>
    private async Task<T> WriteBesideAsync<T>(SemaphoreSlim gate, Func<CancellationToken, Task<KeptConnection>> open, Action drop,
        Func<IStoreSession, Task<T>> work, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            var writer = await open(ct);
            // Deferred: BEGIN IMMEDIATE would also open a read of the main file at once (every attached file
            // joins it), held through the whole write. The work's first statement takes this file's write
            // lock instead (LockRollerAsync, the indexer's watermark update), and the main file is read only where the work reads it.
            await using var tx = writer.Connection.BeginTransaction(deferred: true);
            var session = new SqlSession(writer.Connection, tx, Dialect, writer.Statements);
            var result = await work(session);
            await session.FlushAsync();
            await MainCommitsDurableAsync();
            await tx.CommitAsync(CancellationToken.None);
            return result;
        }
        catch
        {
            drop();
            throw;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The boot of the machine this store runs on (Linux's boot_id), which the index file's marker records (ADR 0020);
    /// null writes the index file with fsync. Tests set another to play a machine crash.
    /// </summary>
    public string? BootId { get; init; } = UnsyncedIndexFile.CurrentBootId();

    /// <summary>How long a start waits for another process's store to finish deciding about the index file.</summary>
    private static readonly TimeSpan UnsyncedMarkerWait = TimeSpan.FromSeconds(30);

    /// <summary>The index file's marker while this store holds it (taken by <see cref="MigrateAsync"/>); null: the file is fsynced.</summary>
    private UnsyncedIndexFile? _unsyncedIndex;

    /// <summary>The indexer's gate: one write transaction at a time in the event index file.</summary>
    private readonly SemaphoreSlim _indexerGate = new(1, 1);

    /// <summary>The indexer's kept connection: the index file, with the main file attached read-only as <c>events</c>; used only under <see cref="_indexerGate"/>.</summary>
    private KeptConnection? _indexerWriter;

    private async Task<KeptConnection> OpenIndexerWriterAsync(CancellationToken ct) =>
        _indexerWriter ??= await OpenBesideAsync(_indexerConnectionString, null, ct, unsynced: _unsyncedIndex is not null);

    private void DropIndexerWriter()
    {
        _indexerWriter?.Close();
        _indexerWriter = null;
    }

    /// <summary>
    /// A write of the event index file (the indexer's pass, ADR 0006): under its own lock, beside the main file's
    /// writer and the roller, on a connection that reads the main file and cannot write it. As for a roll, the
    /// events read are made durable in the main file before the pass commits, so a power loss never leaves index
    /// entries (and a watermark past them) for events that are gone.
    /// </summary>
    public Task<T> WriteEventIndexAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default) =>
        WriteBesideAsync(_indexerGate, OpenIndexerWriterAsync, DropIndexerWriter, work, ct);

    /// <summary>
    /// Completes when every commit of the main file made before the call is durable. The last number is read
    /// under <see cref="_commitNumbering"/>, which the writer holds across its COMMIT and the numbering: every
    /// commit another connection could have seen has its number by then.
    /// </summary>
    private Task MainCommitsDurableAsync()
    {
        long committed;
        lock (_commitNumbering) committed = _walSync.LastCommitted;
        return _walSync.WaitAsync(committed);
    }

    /// <summary>
    /// Held by the main writer across its COMMIT and the commit's numbering, and by a rollups write to read
    /// the last number: a commit another connection can see is then numbered. Not the write gate: a roll that
    /// has read the main file holds a snapshot of it, which the writer's RESTART checkpoint (under the gate)
    /// waits for — waiting for the gate there stalled both for the busy timeout.
    /// </summary>
    private readonly object _commitNumbering = new();

    /// <summary>
    /// WAL size past which the writer, still holding the write gate, checkpoints everything and restarts
    /// the WAL from its start before the next write begins (256 MiB; tests set less).
    /// </summary>
    public long WalRestartBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// What journal_size_limit trims the WAL file back to when it is rewound: just below
    /// <see cref="WalRestartBytes"/> (by a 64th). It must stay below it — the restart is decided by the file's
    /// length, and with the two equal the trimmed file was still "at the limit", so every later write
    /// transaction ran a RESTART checkpoint (measured: 72 of them in a 10,000-renewal run, 130 s of a 100,000
    /// one). It must not be far below it either: SQLite trims inside the first commit after the rewind, under
    /// the write gate, and freeing file blocks is slow here (ext4 with discard: 150–170 ms to cut a file from
    /// 256 to 64 MiB) — those trims were the p99 of the balance hot path over 10,000 customers (≈ 290 ms).
    /// Rewound, the file is reused from its start, so it stays about this size while writes are heavy.
    /// </summary>
    public long WalTrimBytes => WalRestartBytes - WalRestartBytes / 64;

    private long _walRestarts;

    /// <summary>How many times the writer restarted the WAL (a diagnostic, and what the WAL tests count).</summary>
    public long WalRestarts => Interlocked.Read(ref _walRestarts);

    /// <summary>
    /// The backstop when the checkpointer cannot rewind the WAL (<see cref="CheckpointAsync"/>: writes faster
    /// than it copies, or a reader on old frames): SQLite rewinds the WAL only when a write begins after every
    /// frame was copied (seen without any bound: a 76 GB WAL beside a 2 GB database after 13 minutes of event
    /// loading). So once the WAL passes <see cref="WalRestartBytes"/> the writer runs a RESTART checkpoint: it copies
    /// what the background passes have not, waits for readers still on old frames (busy_timeout) and makes
    /// the next write start at the beginning of the file; journal_size_limit then trims the file back.
    /// Writes wait meanwhile — back-pressure that keeps disk use bounded.
    /// </summary>
    private async Task RestartWalIfLargeAsync(SqliteConnection connection)
    {
        var wal = new FileInfo(_path + "-wal");
        if (!wal.Exists || wal.Length < WalRestartBytes) return;
        try
        {
            await connection.ExecuteAsync("PRAGMA main.wal_checkpoint(RESTART);");
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
        if (_checkpointer is not null) return;
        // Called under the write gate, so at most one checkpointer starts.
        _checkpointer = Task.Run(() => CheckpointLoopAsync(_stopping.Token));
    }

    /// <summary>
    /// Checkpoints the WAL in the background (PASSIVE: it never waits for, nor blocks, the writer or
    /// readers; what a reader still needs is copied on a later pass). With synchronous=FULL every
    /// commit is already durable in the WAL; the checkpoint only moves pages, so crashing mid-way
    /// loses nothing.
    /// <para>
    /// Copying alone never lets the WAL start over under steady writes: SQLite rewinds it only when a write
    /// begins with every frame copied, and some commit always lands while a pass runs. Left alone the WAL grew
    /// to <see cref="WalRestartBytes"/> and the writer's RESTART checkpoint then held every write for 100–500 ms
    /// (the p99 of the balance path over 10,000 customers). So once the WAL holds <see cref="RewindFramesMin"/>
    /// frames, the checkpointer repeats its pass until one has little left to copy and then runs a last one
    /// holding the write gate: it copies only what the previous pass missed (at most
    /// <see cref="CatchUpFramesMax"/> frames, and an fsync of the database: 3–23 ms measured under heavy random
    /// writes, up to ~80 ms when the disk is busy), so the next write starts the WAL over. Those stalls are
    /// shorter and rarer than the RESTART's, not gone (ADR 0015).
    /// </para>
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
                    await CheckpointAsync(connection, ct);
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

    /// <summary>WAL frames (pages, ~4 KiB each) past which the checkpointer makes the WAL start over (about 8 MiB).</summary>
    public int RewindFramesMin { get; init; } = 2_048;

    /// <summary>Most frames the pass under the write gate may have to copy; until then passes run without it.</summary>
    public const int CatchUpFramesMax = 256;

    /// <summary>Bounds the passes without the gate that try to get within <see cref="CatchUpFramesMax"/> of the writer.</summary>
    private const int CatchUpPassesMax = 4;

    private long _walRewinds;

    /// <summary>Passes the checkpointer ran under the write gate so that the WAL starts over (a diagnostic, and what tests count).</summary>
    public long WalRewinds => Interlocked.Read(ref _walRewinds);

    private async Task CheckpointAsync(SqliteConnection connection, CancellationToken ct)
    {
        var (log, copied) = await PassiveAsync(connection);
        // What the first pass itself copied is unknown (copied counts every frame since the WAL last started
        // over): count it as too much, so a second pass measures how far behind the writer the passes are.
        var lastCopied = long.MaxValue;
        for (var pass = 1; pass < CatchUpPassesMax && log >= RewindFramesMin && lastCopied > CatchUpFramesMax; pass++)
        {
            var before = copied;
            (log, copied) = await PassiveAsync(connection);
            lastCopied = copied - before;
        }
        // A reader on old frames kept the pass from copying everything: nothing to gain by holding writers now.
        if (log < RewindFramesMin || copied < log || lastCopied > CatchUpFramesMax) return;
        await _writeGate.WaitAsync(ct);
        try
        {
            (log, copied) = await PassiveAsync(connection);
            if (copied == log) Interlocked.Increment(ref _walRewinds);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// A PASSIVE checkpoint of the main file: the frames in its WAL and how many of them are now in the database
    /// file. The rollups file is the roller connection's to checkpoint (its automatic checkpoints).
    /// </summary>
    private static async Task<(long Log, long Copied)> PassiveAsync(SqliteConnection connection)
    {
        var row = await connection.QuerySingleAsync<(long Busy, long Log, long Copied)>("PRAGMA main.wal_checkpoint(PASSIVE);");
        return (row.Log, row.Copied);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_checkpointer is not null) await _checkpointer;
        await _writeGate.WaitAsync();
        await _rollerGate.WaitAsync();
        await _indexerGate.WaitAsync();
        DropWriter();
        DropRollerWriter();
        DropIndexerWriter();
        DropReaders();
        _walSync.Dispose();
        // This store's pool only: other stores in the process (tests run several) keep their connections.
        using (var own = new SqliteConnection(_connectionString)) SqliteConnection.ClearPool(own);
        using (var roller = new SqliteConnection(_rollerConnectionString)) SqliteConnection.ClearPool(roller);
        using (var indexer = new SqliteConnection(_indexerConnectionString)) SqliteConnection.ClearPool(indexer);
        // Every connection of this store to the index file is closed now: fsynced and marked clean if no other store has it.
        _unsyncedIndex?.Close();
        _unsyncedIndex = null;
        _writeGate.Dispose();
        _rollerGate.Dispose();
        _indexerGate.Dispose();
        _stopping.Dispose();
    }
}
