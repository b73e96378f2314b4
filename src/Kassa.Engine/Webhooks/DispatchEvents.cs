using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary>
/// Fans committed events out to the webhook endpoints subscribed to them: one queue row per
/// (event, endpoint), in the same transaction that marks the events dispatched, so an event is
/// queued exactly once even if the process dies mid-way. One dispatcher runs at a time across
/// all nodes, which keeps the queue in commit order.
/// </summary>
public static class DispatchEvents
{
    public const int BatchSizeMax = 500;
    /// <summary>
    /// Enabled endpoints a tenant may have. Creating or re-enabling one past it is refused with
    /// <c>limit_reached</c> (<see cref="WebhookEndpointLimit"/>), so the bounded read below always
    /// holds every enabled endpoint: none silently misses events.
    /// </summary>
    public const int EndpointsPerTenantMax = 100;

    /// <returns>How many events were dispatched (0 when none were waiting or another node holds the turn).</returns>
    public static async Task<int> Execute(IStoreSession session, DateTimeOffset now)
    {
        if (!await session.Events.TryLockDispatchAsync()) return 0;
        var events = await session.Events.UndispatchedAsync(BatchSizeMax);
        if (events.Count == 0) return 0;
        var endpointsByTenant = new Dictionary<Tenant, IReadOnlyList<WebhookEndpointRecord>>();
        foreach (var e in events)
        {
            var tenant = new Tenant(e.AccountId, e.Livemode);
            if (!endpointsByTenant.TryGetValue(tenant, out var endpoints))
            {
                endpoints = await session.Webhooks.EnabledEndpointsAsync(tenant, EndpointsPerTenantMax);
                endpointsByTenant[tenant] = endpoints;
            }
            foreach (var endpoint in endpoints)
            {
                if (endpoint.Matches(e.Type) && endpoint.CreatedAt <= e.CreatedAt) await session.Webhooks.EnqueueAsync(tenant, endpoint.Id, e, now);
            }
        }
        await session.Events.MarkDispatchedAsync(events.Select(e => e.Seq).ToList());
        return events.Count;
    }
}
