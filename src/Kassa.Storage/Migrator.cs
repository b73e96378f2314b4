using System.Data.Common;
using System.Reflection;
using Dapper;

namespace Kassa.Storage;

/// <summary>
/// Applies the numbered SQL scripts embedded under <c>Migrations/&lt;engine&gt;/NNNN_name.sql</c>, each in
/// its own transaction together with its row in <c>schema_migrations</c>, so a crash leaves either the
/// whole script or none of it. Nodes starting at once are serialised by the engine (an advisory lock
/// on PostgreSQL, the single writer on SQLite).
/// </summary>
internal static class Migrator
{
    public sealed record Script(int Version, string Name, string Sql);

    public static IReadOnlyList<Script> Scripts(string engine)
    {
        var assembly = typeof(Migrator).Assembly;
        var prefix = $"migrations/{engine}/";
        var scripts = new List<Script>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var file = resource[prefix.Length..];
            var underscore = file.IndexOf('_');
            if (underscore <= 0 || !int.TryParse(file[..underscore], out var version))
                throw new InvalidOperationException($"migration file '{file}' must be named NNNN_name.sql");
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            scripts.Add(new Script(version, Path.GetFileNameWithoutExtension(file), reader.ReadToEnd()));
        }
        for (var i = 0; i < scripts.Count; i++)
        {
            if (scripts[i].Version != i + 1) throw new InvalidOperationException($"migration versions must run 1, 2, 3… without gaps; found {scripts[i].Name}");
        }
        return scripts;
    }

    /// <summary>
    /// Runs every script not yet applied; returns the names it applied. <paramref name="beforeScript"/>, when
    /// given, runs before each script's transaction begins (in its own, committed first): for work a script
    /// needs done and durable before it, which must then be safe to repeat (a crash between the two runs it again).
    /// </summary>
    public static async Task<IReadOnlyList<string>> ApplyAsync(DbConnection connection, string engine, Func<DbConnection, Task<DbTransaction>> begin, long nowMicros, CancellationToken ct,
        Func<Script, Task>? beforeScript = null)
    {
        await connection.ExecuteAsync(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
        var applied = new List<string>();
        foreach (var script in Scripts(engine))
        {
            ct.ThrowIfCancellationRequested();
            if (beforeScript is not null) await beforeScript(script);
            await using var tx = await begin(connection);
            var done = await connection.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM schema_migrations WHERE version = @version", new { version = script.Version }, tx);
            if (done > 0)
            {
                await tx.RollbackAsync(ct);
                continue;
            }
            await connection.ExecuteAsync(script.Sql, transaction: tx);
            await connection.ExecuteAsync(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @at)",
                new { version = script.Version, name = script.Name, at = nowMicros }, tx);
            await tx.CommitAsync(ct);
            applied.Add(script.Name);
        }
        return applied;
    }
}
