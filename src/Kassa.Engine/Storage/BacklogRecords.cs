namespace Kassa.Engine.Storage;

/// <summary>
/// Cheap, capped counts of work waiting in the database, for the operational gauges (never for
/// tenant-facing answers: they count across all accounts). Each reads a partial index only.
/// </summary>
public interface IBacklogStore
{
    /// <summary>Events not yet fanned out to webhook endpoints, counting at most <paramref name="cap"/>.</summary>
    Task<long> UndispatchedEventsAsync(int cap);

    /// <summary>Webhook deliveries still pending (due or waiting for a retry), counting at most <paramref name="cap"/>.</summary>
    Task<long> PendingDeliveriesAsync(int cap);
}
