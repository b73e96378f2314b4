namespace Kassa.Engine.Storage;

/// <summary>
/// Savepoints inside a write session, so several requests can share one transaction and still fail
/// alone (the mutation batcher, ADR 0010). A session that offers them implements this interface next to
/// <see cref="IStoreSession"/>. Besides the SQL savepoint, the session's in-memory state follows it:
/// rows buffered for the commit (events, audit records, journal lines) and rows remembered from reads
/// are dropped with a rolled-back savepoint, so a failed request leaves nothing behind in the commit.
/// Names are chosen by the caller from a fixed pattern, never from input.
/// </summary>
public interface ISavepoints
{
    /// <summary>Opens a savepoint named <paramref name="name"/>.</summary>
    Task SavepointAsync(string name);

    /// <summary>
    /// Keeps everything since the savepoint and forgets the savepoint: its buffered rows stay buffered for the
    /// commit. On PostgreSQL the SQL savepoint itself stays open until the transaction ends (COMMIT releases it;
    /// a later rollback never names it), which saves a round trip per savepoint; SQLite releases it at once
    /// (no round trip to save, and every page a savepoint-holding transaction writes is checked against each
    /// open savepoint). Either way the name may be used again for the next savepoint.
    /// </summary>
    Task ReleaseAsync(string name);

    /// <summary>
    /// Makes every later statement of this transaction wait at most <paramref name="wait"/> for a row lock
    /// (PostgreSQL's lock_timeout; SQLite has one writer and never waits): a statement that would wait longer
    /// fails, and its savepoint can be rolled back instead of waiting out a deadlock. On PostgreSQL the setting
    /// travels with the next savepoint, batch of writes or commit (no round trip of its own): call it right
    /// before the first savepoint.
    /// </summary>
    Task LimitLockWaitsAsync(TimeSpan wait);

    /// <summary>Undoes everything since the savepoint, in the database and in the session's buffers and caches, and forgets the savepoint.</summary>
    Task RollbackToAsync(string name);
}
