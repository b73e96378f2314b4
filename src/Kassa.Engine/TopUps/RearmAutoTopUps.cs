using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TopUps;

/// <summary>
/// Re-arms the customer's auto top-ups that a failed attempt disarmed, when the customer gets a new
/// default payment method: the failure was most likely the old card's, so the next time the balance is
/// below the threshold (and 10 minutes after the last attempt) the new card is tried. Runs in the
/// transaction that changes the default.
/// </summary>
public static class RearmAutoTopUps
{
    public static async Task Execute(IStoreSession s, OperationContext op, string customerId)
    {
        if (await s.TopUps.RearmAsync(op.Tenant, customerId, op.Now) > 0)
            await RecordAudit.Execute(s, op, "auto_top_up.rearmed", "customer", customerId, ["auto_top_up.status"]);
    }
}
