using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary>
/// <c>POST /v1/events/{id}/resend</c>: queues the event again for every enabled endpoint that
/// subscribes to its type, or for one endpoint (<c>endpoint_id</c>), even if delivered before.
/// </summary>
public static class ResendEvent
{
    public sealed record Request(Optional<string> EndpointId);

    public sealed record Outcome(EventRecord Event, int Queued);

    public static async Task<Result<Outcome>> Execute(IStoreSession session, OperationContext op, string eventId, Request request)
    {
        var e = await session.Events.GetAsync(op.Tenant, eventId);
        if (e is null) return KassaError.NotFound("event", eventId);
        List<WebhookEndpointRecord> targets;
        if (request.EndpointId.Value is { } endpointId)
        {
            var endpoint = await session.Webhooks.GetEndpointAsync(op.Tenant, endpointId);
            if (endpoint is null) return KassaError.NotFound("webhook_endpoint", endpointId);
            if (endpoint.Disabled) return KassaError.InvalidState($"Webhook endpoint '{endpointId}' is disabled; enable it first");
            targets = [endpoint];
        }
        else
        {
            targets = (await session.Webhooks.EnabledEndpointsAsync(op.Tenant, DispatchEvents.EndpointsPerTenantMax)).Where(x => x.Matches(e.Type)).ToList();
        }
        foreach (var endpoint in targets) await session.Webhooks.EnqueueAsync(op.Tenant, endpoint.Id, e.Queued, op.Now);
        await RecordAudit.Execute(session, op, "event.resent", "event", e.Id, targets.Select(t => t.Id).ToList());
        return new Outcome(e, targets.Count);
    }
}
