using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Checkout;

/// <summary>
/// <c>GET /v1/checkout_sessions/{id}</c>. Runs in a write transaction: a session read after its expiry is
/// expired right then (with its subscription and invoice, see <see cref="CheckoutRules.ExpireAsync"/>), and
/// one whose invoice was paid some other way completes, so a read never shows an <c>open</c> session that
/// can no longer be paid.
/// </summary>
public static class GetCheckoutSession
{
    public static async Task<Result<CheckoutSessionResource>> Execute(IStoreSession s, OperationContext op, string id)
    {
        var session = await s.Checkout.GetAsync(op.Tenant, id);
        if (session is null) return KassaError.NotFound("checkout_session", id);
        return CheckoutSessionResource.From(await CheckoutRules.RefreshAsync(s, op, session));
    }
}
