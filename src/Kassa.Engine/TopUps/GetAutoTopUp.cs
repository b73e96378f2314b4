using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TopUps;

/// <summary><c>GET /v1/customers/{id}/auto_top_up?feature_id=</c>: the settings and the state of the last attempt.</summary>
public static class GetAutoTopUp
{
    public static async Task<Result<AutoTopUpResource>> Execute(IStoreSession s, Tenant tenant, string customerId, string? featureId)
    {
        if (string.IsNullOrEmpty(featureId)) return KassaError.Missing("feature_id");
        var customer = await s.Customers.GetAsync(tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var topUp = await s.TopUps.GetAsync(tenant, customer.Id, featureId);
        if (topUp is null) return KassaError.NotFound("auto_top_up", featureId) with { Param = "feature_id" };
        return AutoTopUpResource.From(topUp);
    }
}
