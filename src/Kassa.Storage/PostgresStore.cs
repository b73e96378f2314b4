using System.Data;
using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Npgsql;

namespace Kassa.Storage;

/// <summary>
/// PostgreSQL through a pooled Npgsql data source. Transactions run at READ COMMITTED; correctness
/// under several nodes comes from unique constraints, conditional updates and row locks, never from
/// in-process state. A deadlock or serialization failure rolls back and the work is retried a
/// bounded number of times.
/// </summary>
public sealed class PostgresStore : IKassaStore
{
    private const int TransientRetriesMax = 3;
    private static readonly SqlDialect Dialect = new("postgres", IsPostgres: true);
    // Any constant works: it only has to be the same on every node that migrates this database.
    private const long MigrationLockKey = 0x4B61737361; // "Kassa"
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly string _description;

    /// <summary>Connections per process unless the connection string says otherwise: 8 per core, at least 16.</summary>
    public static int DefaultPoolSize { get; } = Math.Max(16, 8 * Environment.ProcessorCount);

    public PostgresStore(string connectionString, TimeProvider time)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // A small pool by default: fewer backends working at once is faster than many taking turns on the
        // cores (measured on 2 cores with 64 concurrent requests, 100 -> 16 connections: track over 10,000
        // customers +30-50 %, a read-only check +30-55 %; bench/README.md, 2026-12-02 evening). At least
        // 16, above the ~15 writer loops and workers that may each hold one at once.
        if (!connectionString.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("MaxPoolSize", StringComparison.OrdinalIgnoreCase)
            && !connectionString.Contains("Max Pool Size", StringComparison.OrdinalIgnoreCase))
            builder.MaxPoolSize = DefaultPoolSize;
        // The same few statements run constantly: preparing them once per connection saves the
        // server a parse and plan on every request.
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }
        // Kassa keeps no session state on pooled connections (advisory locks are released explicitly),
        // so the DISCARD ALL that would reset it, and drop the prepared statements, is not needed.
        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("ResetOnClose", StringComparison.OrdinalIgnoreCase))
            builder.NoResetOnClose = true;
        _description = $"postgres ({builder.Host}:{builder.Port}/{builder.Database})";
        // Npgsql labels its metrics with the pool's name, by default the connection string (host, user,
        // database): a fixed name keeps those details off the unauthenticated /metrics.
        _dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString) { Name = "kassa" }.Build();
        _time = time;
    }

    public string Engine => "postgres";

    public string Describe() => _description;

    public async Task MigrateAsync(CancellationToken ct = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        // A session-level advisory lock: nodes starting together migrate one after another.
        await connection.ExecuteAsync("SELECT pg_advisory_lock(@key)", new { key = MigrationLockKey });
        try
        {
            await Migrator.ApplyAsync(connection, Engine, async c => await ((NpgsqlConnection)c).BeginTransactionAsync(IsolationLevel.ReadCommitted, ct),
                Micros.From(_time.GetUtcNow()), ct);
        }
        finally
        {
            await connection.ExecuteAsync("SELECT pg_advisory_unlock(@key)", new { key = MigrationLockKey });
        }
    }

    public async Task PingAsync(CancellationToken ct = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await connection.ExecuteScalarAsync<int>("SELECT 1");
    }

    public async Task<T> ReadAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        return await work(new SqlSession(connection, null, Dialect));
    }

    public async Task<T> WriteAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
            try
            {
                var session = new SqlSession(connection, tx, Dialect);
                var result = await work(session);
                if (commitIf is null || commitIf(result)) await session.CommitPostgresAsync();
                else await tx.RollbackAsync(CancellationToken.None);
                return result;
            }
            catch (PostgresException e) when (attempt < TransientRetriesMax && e.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected)
            {
                // Rolled back by disposal; the work is a pure function of what it reads, so running it again is safe.
            }
        }
    }

    /// <summary>PostgreSQL's COMMIT returns once the commit is durable (synchronous_commit=on): nothing left to wait for.</summary>
    public Task<T> WriteRollupsAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default) => WriteAsync(work, ct: ct);

    public Task<T> WriteEventIndexAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default) => WriteAsync(work, ct: ct);

    public async Task<Committed<T>> WriteCommittedAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default) =>
        new(await WriteAsync(work, commitIf, ct), Task.CompletedTask);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
