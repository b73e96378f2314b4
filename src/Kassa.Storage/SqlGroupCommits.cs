using Dapper;
using Kassa.Core.Ids;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlGroupCommits(SqlSession s) : IGroupCommitStore
{
    /// <summary>
    /// How long a fence waits for the batch's transaction to end on PostgreSQL. A connection dropped
    /// mid-COMMIT ends its transaction within moments; a longer wait fails the fence, which is retried.
    /// </summary>
    private const string FenceLockTimeout = "10s";

    public Task RecordAsync(string batchId, DateTimeOffset now)
    {
        const string Sql = "INSERT INTO group_commits (batch_id, fenced, created_at) VALUES (@batchId, 0, @now)";
        if (s.Dialect.IsPostgres)
        {
            // Nobody reads the marker back in this transaction: it rides with the batch's writes (or the flush
            // before COMMIT) instead of costing a round trip of its own.
            s.SendWithNextWrites(SqlSession.Positional(Sql, new Dictionary<string, object?> { ["batchId"] = batchId, ["now"] = Micros.From(now) }));
            return Task.CompletedTask;
        }
        return s.Connection.ExecuteAsync(Sql, new { batchId, now = Micros.From(now) }, s.Transaction);
    }

    public async Task<bool> FenceAsync(string batchId, DateTimeOffset now)
    {
        if (s.Dialect.IsPostgres) await s.Connection.ExecuteAsync($"SET LOCAL lock_timeout = '{FenceLockTimeout}'", transaction: s.Transaction);
        // On PostgreSQL an insert that meets an uncommitted row with the same key waits for that
        // transaction to end, then conflicts (it committed) or inserts (it rolled back).
        return await s.Connection.ExecuteAsync(
            "INSERT INTO group_commits (batch_id, fenced, created_at) VALUES (@batchId, 1, @now) ON CONFLICT (batch_id) DO NOTHING",
            new { batchId, now = Micros.From(now) }, s.Transaction) == 1;
    }

    /// <summary>
    /// Deletes markers (and fences) of batches made before <paramref name="before"/>, oldest first. By the key alone:
    /// batch ids are time-ordered, so those are exactly the ids below the least id of that time, and the table needs
    /// no index by time (SQLite migration 0030, PostgreSQL 0028).
    /// </summary>
    public Task<int> PurgeAsync(DateTimeOffset before, int batchSizeMax) =>
        s.Connection.ExecuteAsync("""
            DELETE FROM group_commits WHERE batch_id IN (
              SELECT batch_id FROM group_commits WHERE batch_id < @below ORDER BY batch_id LIMIT @batchSizeMax)
            """, new { below = KassaId.Floor(IdPrefixes.GroupCommit, before), batchSizeMax }, s.Transaction);
}
