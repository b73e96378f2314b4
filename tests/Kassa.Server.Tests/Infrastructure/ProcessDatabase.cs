namespace Kassa.Server.Tests.Infrastructure;

/// <summary>
/// A fresh database of one engine for a test that starts its own server process: the given SQLite
/// file, or a new PostgreSQL database (dropped on dispose). Skips the test when PostgreSQL is not
/// available here (never under CI=true: <see cref="PostgresHost"/> fails instead).
/// </summary>
public sealed class ProcessDatabase : IAsyncDisposable
{
    private readonly PostgresHost? _postgres;

    private ProcessDatabase(string connectionString, PostgresHost? postgres)
    {
        ConnectionString = connectionString;
        _postgres = postgres;
    }

    public string ConnectionString { get; }

    public static async Task<ProcessDatabase> CreateAsync(string engine, string sqliteConnectionString)
    {
        if (engine != "postgres") return new ProcessDatabase(sqliteConnectionString, null);
        var postgres = new PostgresHost();
        var db = await postgres.CreateFreshDatabaseAsync();
        if (db is null) Assert.Skip("PostgreSQL is not available: set KASSA_TEST_PG (scripts/test.sh does)");
        return new ProcessDatabase(db, postgres);
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null) await _postgres.DisposeAsync();
    }
}
