using System.Security.Cryptography;
using Kassa.Core.Errors;
using Kassa.Core.Webhooks;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary>
/// <c>POST /v1/webhook_endpoints/{id}/rotate_secret</c>: a new secret, shown once. For 24 hours every
/// delivery carries signatures by both secrets, so a receiver can switch without missing one.
/// </summary>
public static class RotateWebhookSecret
{
    public static readonly TimeSpan Overlap = TimeSpan.FromHours(24);

    public static async Task<Result<WebhookEndpointRecord>> Execute(IStoreSession session, OperationContext op, string id)
    {
        var existing = await session.Webhooks.GetEndpointAsync(op.Tenant, id, forUpdate: true);
        if (existing is null) return KassaError.NotFound("webhook_endpoint", id);
        var rotated = existing with
        {
            Secret = WebhookSecret.Generate(RandomNumberGenerator.GetBytes(CreateWebhookEndpoint.SecretBytes)),
            PreviousSecret = existing.Secret,
            PreviousSecretExpiresAt = op.Now + Overlap,
            UpdatedAt = op.Now,
        };
        await session.Webhooks.UpdateEndpointAsync(rotated);
        await RecordAudit.Execute(session, op, "webhook_endpoint.secret_rotated", "webhook_endpoint", id, ["secret"]);
        return rotated;
    }
}
