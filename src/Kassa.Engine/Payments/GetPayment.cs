using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary><c>GET /v1/payments/{id}</c>.</summary>
public static class GetPayment
{
    public static async Task<Result<PaymentResource>> Execute(IStoreSession s, Tenant tenant, string id) =>
        await s.Payments.GetPaymentAsync(tenant, id) is { } p ? PaymentResource.From(p) : KassaError.NotFound("payment", id);
}
