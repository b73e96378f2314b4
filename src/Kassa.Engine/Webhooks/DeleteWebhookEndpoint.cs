using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary><c>DELETE /v1/webhook_endpoints/{id}</c>: stops deliveries; attempts already made stay listed.</summary>
public static class DeleteWebhookEndpoint
{
    public static async Task<Result<WebhookEndpointRecord>> Execute(IStoreSession session, OperationContext op, string id)
    {
        var existing = await session.Webhooks.GetEndpointAsync(op.Tenant, id, forUpdate: true);
        if (existing is null) return KassaError.NotFound("webhook_endpoint", id);
        var deleted = existing with { DeletedAt = op.Now, Disabled = true, DisabledReason = "deleted", UpdatedAt = op.Now };
        await session.Webhooks.UpdateEndpointAsync(deleted);
        await RecordAudit.Execute(session, op, "webhook_endpoint.deleted", "webhook_endpoint", id, ["deleted"]);
        return deleted;
    }
}
