using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// <c>POST /v1/subscriptions/{id}/pause</c> and <c>/resume</c> (spec §4.2). A paused subscription is not
/// renewed; resuming a subscription whose period ended while paused starts a new period now (the
/// paused time is not billed) and the renewal worker bills it from there. While paused, check denies
/// the features whose balances the subscription granted (code <c>subscription_paused</c>): they are
/// marked suspended in the pause's transaction and cleared by resume, so check reads the flag with
/// the balance and tenants that never pause pay nothing for it.
/// </summary>
public static class PauseSubscription
{
    public static async Task<Result<SubscriptionResource>> Pause(IStoreSession s, OperationContext op, string id)
    {
        var sub = await s.Subscriptions.GetAsync(op.Tenant, id, forUpdate: true);
        if (sub is null) return KassaError.NotFound("subscription", id);
        op = await TestClocks.TestClockRules.ForCustomerAsync(s, op, sub.TestClockId);
        if (sub.Paused) return KassaError.InvalidState($"Subscription '{sub.Id}' is already paused");
        if (!SubscriptionStatus.Renews(sub.Status)) return KassaError.InvalidState($"Subscription '{sub.Id}' is {sub.Status}; only a live subscription can be paused");
        var after = sub with { Paused = true, UpdatedAt = op.Now };
        await SuspendAsync(s, op, sub, true);
        await SubscriptionPayments.SaveAsync(s, op, sub, after, EventTypes.SubscriptionPaused);
        return SubscriptionResource.From(after);
    }

    /// <summary>
    /// Marks the subscription's balances suspended (or not) in the pause's transaction. The customer's
    /// balance rows are locked first, in the balance engine's order, so a check being applied to them
    /// finishes before the pause and every later one sees it.
    /// </summary>
    private static async Task SuspendAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, bool suspended)
    {
        _ = await Balances.BalanceBook.LoadAsync(s, op.Tenant, [sub.CustomerId], [], forUpdate: true, op.Now);
        await s.Subscriptions.SuspendBalancesAsync(op.Tenant, sub.CustomerId, sub.Id, suspended);
    }

    public static async Task<Result<SubscriptionResource>> Resume(IStoreSession s, OperationContext op, string id)
    {
        var sub = await s.Subscriptions.GetAsync(op.Tenant, id, forUpdate: true);
        if (sub is null) return KassaError.NotFound("subscription", id);
        op = await TestClocks.TestClockRules.ForCustomerAsync(s, op, sub.TestClockId);
        if (!sub.Paused) return KassaError.InvalidState($"Subscription '{sub.Id}' is not paused");
        var after = sub with { Paused = false, UpdatedAt = op.Now };
        await SuspendAsync(s, op, sub, false);
        if (sub.CurrentPeriodEnd is { } end && end <= op.Now)
        {
            // The period ended while paused: the subscription continues from now, on a new anchor, so
            // the paused stretch is neither billed nor renewed retroactively.
            var plan = BillingPlan.Of((await s.Catalog.GetVersionAsync(op.Tenant, sub.ProductId, sub.ProductVersion))!);
            // The new period is billed like a renewal: its end is now, so the renewal worker invoices the
            // period starting now (fees in advance, usage before the pause in arrears) on its next round.
            after = after with { BillingAnchor = op.Now, CurrentPeriodEnd = op.Now, Interval = plan.Interval, IntervalCount = plan.IntervalCount };
        }
        await SubscriptionPayments.SaveAsync(s, op, sub, after, EventTypes.SubscriptionResumed);
        return SubscriptionResource.From(after);
    }
}
