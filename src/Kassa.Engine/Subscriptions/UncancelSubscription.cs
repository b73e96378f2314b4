using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary><c>POST /v1/subscriptions/{id}/uncancel</c>: undoes a pending <c>period_end</c> cancel; anything else is <c>409 invalid_state</c>.</summary>
public static class UncancelSubscription
{
    public static async Task<Result<SubscriptionResource>> Execute(IStoreSession s, OperationContext op, string id)
    {
        var sub = await s.Subscriptions.GetAsync(op.Tenant, id, forUpdate: true);
        if (sub is null) return KassaError.NotFound("subscription", id);
        op = await TestClocks.TestClockRules.ForCustomerAsync(s, op, sub.TestClockId);
        if (!sub.CancelAtPeriodEnd || !SubscriptionStatus.Renews(sub.Status))
            return KassaError.InvalidState($"Subscription '{sub.Id}' has no pending cancel to undo");
        var after = sub with { CancelAtPeriodEnd = false, CanceledAt = null, UpdatedAt = op.Now };
        await SubscriptionPayments.SaveAsync(s, op, sub, after, EventTypes.SubscriptionUpdated);
        return SubscriptionResource.From(after);
    }
}
