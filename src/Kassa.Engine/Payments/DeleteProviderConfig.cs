using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// <c>DELETE /v1/providers/{provider}</c>: forgets this account's and mode's provider keys. New attempts
/// then use the sandbox (test mode) or nothing (live mode); attempts already made with the provider
/// cannot complete until it is configured again: they stay processing (the charge may have happened, so
/// failing them could lose money) and the reconcile worker completes them once it is.
/// </summary>
public static class DeleteProviderConfig
{
    public static async Task<Result<ProviderConfigResource>> Execute(IStoreSession s, OperationContext op, string provider)
    {
        var existing = await s.Providers.GetConfigAsync(op.Tenant, provider, forUpdate: true);
        if (existing is null || !await s.Providers.DeleteConfigAsync(op.Tenant, provider)) return KassaError.NotFound("provider_config", provider);
        await RecordAudit.Execute(s, op, "provider_config.deleted", "provider_config", provider, ["secret_key", "webhook_secret"]);
        return ProviderConfigResource.From(existing);
    }
}
