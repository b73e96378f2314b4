using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary><c>GET /v1/webhook_endpoints</c> and <c>GET /v1/webhook_endpoints/{id}</c>.</summary>
public static class ListWebhookEndpoints
{
    public static async Task<Result<Page<WebhookEndpointResource>>> Execute(IStoreSession session, Tenant tenant, PageRequest page)
    {
        var rows = await session.Webhooks.ListEndpointsAsync(tenant, page.After, page.Limit + 1);
        return page.Build(rows, e => new Cursor(Micros.From(e.CreatedAt), e.Id), e => WebhookEndpointResource.From(e));
    }

    public static async Task<Result<WebhookEndpointResource>> One(IStoreSession session, Tenant tenant, string id)
    {
        var e = await session.Webhooks.GetEndpointAsync(tenant, id);
        return e is null ? KassaError.NotFound("webhook_endpoint", id) : WebhookEndpointResource.From(e);
    }
}

/// <summary><c>GET /v1/webhook_endpoints/{id}/deliveries</c>: every attempt, newest first.</summary>
public static class ListWebhookDeliveries
{
    public static async Task<Result<Page<WebhookDeliveryResource>>> Execute(IStoreSession session, Tenant tenant, string endpointId, PageRequest page)
    {
        if (await session.Webhooks.GetEndpointAsync(tenant, endpointId) is null) return KassaError.NotFound("webhook_endpoint", endpointId);
        var rows = await session.Webhooks.ListAttemptsAsync(tenant, endpointId, page.After, page.Limit + 1);
        return page.Build(rows, a => new Cursor(Micros.From(a.CreatedAt), a.Id), WebhookDeliveryResource.From);
    }
}
