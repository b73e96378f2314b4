using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary><c>GET /v1/payments/{id}</c>.</summary>
public static class GetPayment
{
    public static async Task<Result<PaymentResource>> Execute(IStoreSession s, Tenant tenant, string id)
    {
        if (await s.Payments.GetPaymentAsync(tenant, id) is not { } p) return KassaError.NotFound("payment", id);
        var disputes = await s.Disputes.LatestOfPaymentsAsync(tenant, [p.Id]);
        return PaymentResource.From(p) with { DisputeId = disputes.GetValueOrDefault(p.Id) };
    }
}
