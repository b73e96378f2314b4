using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.SpendCaps;

/// <summary><c>DELETE /v1/customers/{id}/spend_caps/{feature_id}</c>: removes the cap; overage is then limited only by the overage policy.</summary>
public static class DeleteSpendCap
{
    public static async Task<Result<SpendCapRecord>> Execute(IStoreSession s, OperationContext op, string customerId, string featureId)
    {
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var existing = await s.SpendCaps.GetAsync(op.Tenant, customer.Id, featureId);
        if (existing is null) return KassaError.NotFound("spend_cap", featureId);
        await s.SpendCaps.DeleteAsync(op.Tenant, customer.Id, featureId);
        await RecordAudit.Execute(s, op, "spend_cap.deleted", "customer", customer.Id, [$"{featureId}.max_overage_amount"]);
        return existing;
    }
}
