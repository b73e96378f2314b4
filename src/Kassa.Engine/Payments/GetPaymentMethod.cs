using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary><c>GET /v1/payment_methods/{id}</c>: a method, also once detached (then with <c>detached_at</c>).</summary>
public static class GetPaymentMethod
{
    public static async Task<Result<PaymentMethodResource>> Execute(IStoreSession s, Tenant tenant, string id) =>
        await s.Payments.GetMethodAsync(tenant, id) is { } m ? PaymentMethodResource.From(m) : KassaError.NotFound("payment_method", id);
}
