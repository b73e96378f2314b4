using Dapper;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlBacklog(SqlSession s) : IBacklogStore
{
    // Literal conditions, as in SqlEvents: the partial indexes events_undispatched and webhook_queue_due
    // apply, and the inner LIMIT caps the work however large the backlog grows.
    public async Task<long> UndispatchedEventsAsync(int cap)
    {
        await s.FlushAsync();
        return await s.Connection.ExecuteScalarAsync<long>(
            $"SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE {s.Dialect.IsFalse("dispatched")} LIMIT @cap) AS backlog", new { cap }, s.Transaction);
    }

    public async Task<long> PendingDeliveriesAsync(int cap)
    {
        await s.FlushAsync();
        return await s.Connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_queue WHERE state = 'pending' LIMIT @cap) AS backlog", new { cap }, s.Transaction);
    }
}
