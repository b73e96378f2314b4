using Kassa.Engine.Storage;
using Npgsql;

namespace Kassa.Storage;

/// <summary>
/// Picks the engine from the connection string: <c>Host=…</c>, <c>postgres://…</c> or
/// <c>postgresql://…</c> is PostgreSQL; anything else is SQLite (a connection string such as
/// <c>Data Source=x.db</c>, or a bare file path).
/// </summary>
public static class StoreFactory
{
    public const string DefaultSqlitePath = "kassa-data/kassa.db";

    public static bool IsPostgres(string db) =>
        db.StartsWith("Host=", StringComparison.OrdinalIgnoreCase) ||
        db.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
        db.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    public static IKassaStore Open(string? db, TimeProvider time)
    {
        db = string.IsNullOrWhiteSpace(db) ? DefaultSqlitePath : db.Trim();
        if (IsPostgres(db)) return new PostgresStore(db.Contains("://", StringComparison.Ordinal) ? FromUrl(db) : db, time);
        return new SqliteStore(db.Contains('=') ? db : $"Data Source={db}", time);
    }

    /// <summary>The SQLite database file of <paramref name="db"/> (full path), or null for PostgreSQL or an in-memory database.</summary>
    public static string? SqliteFilePath(string? db)
    {
        db = string.IsNullOrWhiteSpace(db) ? DefaultSqlitePath : db.Trim();
        if (IsPostgres(db)) return null;
        var source = db.Contains('=') ? new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(db).DataSource : db;
        return string.IsNullOrEmpty(source) || source == ":memory:" || source.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? null : Path.GetFullPath(source);
    }

    /// <summary>postgres://user:password@host:port/database?sslmode=require → Npgsql key=value form.</summary>
    public static string FromUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException("the PostgreSQL URL is not valid; expected postgres://user:password@host:port/database");
        var b = new NpgsqlConnectionStringBuilder { Host = uri.Host, Port = uri.Port > 0 ? uri.Port : 5432 };
        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo[0].Length > 0) b.Username = Uri.UnescapeDataString(userInfo[0]);
        if (userInfo.Length > 1) b.Password = Uri.UnescapeDataString(userInfo[1]);
        var database = uri.AbsolutePath.Trim('/');
        if (database.Length > 0) b.Database = Uri.UnescapeDataString(database);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            if (kv.Length == 2 && kv[0].Equals("sslmode", StringComparison.OrdinalIgnoreCase) && Enum.TryParse<SslMode>(kv[1], true, out var mode))
                b.SslMode = mode;
        }
        return b.ConnectionString;
    }
}
