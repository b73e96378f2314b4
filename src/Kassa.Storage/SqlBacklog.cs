using Dapper;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlBacklog(SqlSession s) : IBacklogStore
{
    // The inner LIMIT caps the work however large the backlog grows; the undispatched events are the rows of
    // event_queue, and webhook_queue_due (a partial index) serves the pending deliveries.
    public async Task<long> UndispatchedEventsAsync(int cap)
    {
        await s.FlushAsync();
        return await s.Connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM (SELECT 1 FROM event_queue LIMIT @cap) AS backlog", new { cap }, s.Transaction);
    }

    public async Task<long> PendingDeliveriesAsync(int cap)
    {
        await s.FlushAsync();
        return await s.Connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_queue WHERE state = 'pending' LIMIT @cap) AS backlog", new { cap }, s.Transaction);
    }
}
