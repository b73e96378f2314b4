using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary>
/// The bound on a tenant's enabled webhook endpoints, checked where one is added: creating an endpoint
/// and re-enabling a disabled one. Dispatch and resend read at most the bound, so letting one more in
/// would make it silently never receive events.
/// </summary>
public static class WebhookEndpointLimit
{
    public const string LockName = "webhook_endpoints";

    /// <returns><c>limit_reached</c> when the tenant already has the maximum of enabled endpoints, else null.</returns>
    public static async Task<KassaError?> CheckRoomForOneMore(IStoreSession session, Tenant tenant, string param)
    {
        // Held to the end of the transaction: two concurrent creates cannot both see room for the last one.
        await session.Accounts.LockLimitAsync(tenant, LockName);
        var enabled = await session.Webhooks.EnabledEndpointsAsync(tenant, DispatchEvents.EndpointsPerTenantMax);
        return enabled.Count < DispatchEvents.EndpointsPerTenantMax
            ? null
            : new KassaError(ErrorCodes.LimitReached,
                $"This account already has {DispatchEvents.EndpointsPerTenantMax} enabled webhook endpoints, the most allowed; disable or delete one first", param);
    }
}
