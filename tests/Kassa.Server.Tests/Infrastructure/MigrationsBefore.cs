using System.Data.Common;
using Dapper;
using Kassa.Storage;
using Npgsql;

namespace Kassa.Server.Tests.Infrastructure;

/// <summary>
/// A database as an older version left it, for upgrade tests: every migration of the engine before the named
/// one applied by hand and recorded, so the store's own migration applies the named one and the rest.
/// </summary>
public static class MigrationsBefore
{
    public static async Task ApplyAsync(DbConnection c, string engine, string scriptName)
    {
        await c.ExecuteAsync("CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
        var upgrade = Migrator.Scripts(engine).Single(s => s.Name == scriptName);
        foreach (var script in Migrator.Scripts(engine).Where(s => s.Version < upgrade.Version))
        {
            await c.ExecuteAsync(script.Sql);
            await c.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, 0)", new { script.Version, script.Name });
        }
    }

    /// <summary>A fresh PostgreSQL database for this test as an older version left it (<see cref="ApplyAsync"/>).</summary>
    public static async Task<ProcessDatabase> PostgresAsync(string scriptName)
    {
        var database = await ProcessDatabase.CreateAsync("postgres", "");
        try
        {
            await using var c = new NpgsqlConnection(database.ConnectionString);
            await c.OpenAsync();
            await ApplyAsync(c, "postgres", scriptName);
            return database;
        }
        catch
        {
            // The caller never gets it to dispose: the database (and its server, when the test started one) goes now.
            await database.DisposeAsync();
            throw;
        }
    }
}
