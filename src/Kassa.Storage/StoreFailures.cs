using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Kassa.Storage;

/// <summary>
/// Tells a database that cannot be reached now from a bug. The first is the environment's state, not
/// the request's fault nor Kassa's: the API answers it 503 <c>unavailable</c> with Retry-After, so
/// clients retry, and keeps 500 for bugs.
/// </summary>
public static class StoreFailures
{
    // SQLite's primary result codes (https://sqlite.org/rescode.html) that describe the file's state:
    // another process holds the lock past busy_timeout (BUSY, LOCKED, PROTOCOL), the file or its folder
    // cannot be opened (CANTOPEN: a volume unmounted, a folder moved), the disk fails or is full.
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteIoErr = 10;
    private const int SqliteFull = 13;
    private const int SqliteCantOpen = 14;
    private const int SqliteProtocol = 15;

    /// <summary>
    /// True when <paramref name="e"/> means the database cannot be reached or is too busy now:
    /// PostgreSQL down, restarting, refusing connections or out of pooled connections (Npgsql marks these
    /// <see cref="DbException.IsTransient"/>, as it does serialization failures a retry resolves), or
    /// SQLite locked, unopenable or out of disk.
    /// </summary>
    public static bool IsUnavailable(DbException e) => e switch
    {
        SqliteException s => s.SqliteErrorCode is SqliteBusy or SqliteLocked or SqliteIoErr or SqliteFull or SqliteCantOpen or SqliteProtocol,
        _ => e.IsTransient,
    };
}
