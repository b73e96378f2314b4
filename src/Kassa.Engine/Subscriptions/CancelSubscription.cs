using Kassa.Core.Errors;
using Kassa.Core.Invoicing;
using Kassa.Engine.Common;
using Kassa.Engine.CreditNotes;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// <c>POST /v1/subscriptions/{id}/cancel {at, refund}</c> (spec §4.2). <c>period_end</c> (the default)
/// sets <c>cancel_at_period_end</c>: the renewal at the period's end closes it instead of renewing.
/// <c>now</c> ends it at once: its balances are revoked, usage billed so far goes on a final invoice,
/// and with <c>refund: credit|payment</c> the unused part of the period's fixed fee (prorated by the
/// second from the last paid period invoice, rounded once) is returned by a credit note — to the
/// customer's credit balance or back to the card. <c>refund: none</c> (the default) returns nothing.
/// </summary>
public static class CancelSubscription
{
    public sealed record Request(string? At, string? Refund);

    public static readonly IReadOnlyList<string> Ats = ["period_end", "now"];
    public static readonly IReadOnlyList<string> Refunds = ["none", "credit", "payment"];

    /// <summary>The answer, and the payment attempts (final invoice) and refund to complete after the commit.</summary>
    public sealed record Done(SubscriptionResource Subscription, string? PaymentId, string? RefundId, DateTimeOffset? At = null);

    public static async Task<Result<Done>> Execute(IStoreSession s, OperationContext op, string id, Request r)
    {
        var at = r.At ?? "period_end";
        var refund = r.Refund ?? "none";
        if (!Ats.Contains(at)) return KassaError.Validation("at", $"must be one of {string.Join(", ", Ats)}");
        if (!Refunds.Contains(refund)) return KassaError.Validation("refund", $"must be one of {string.Join(", ", Refunds)}");
        if (at == "period_end" && refund != "none") return KassaError.Validation("refund", "applies only with at: now (a subscription canceled at its period end has no unused time)");
        var sub = await s.Subscriptions.GetAsync(op.Tenant, id, forUpdate: true);
        if (sub is null) return KassaError.NotFound("subscription", id);
        op = await TestClocks.TestClockRules.ForCustomerAsync(s, op, sub.TestClockId);
        if (sub.Status is SubscriptionStatus.Canceled or SubscriptionStatus.Expired)
            return KassaError.InvalidState($"Subscription '{sub.Id}' is already {sub.Status}");
        if (sub.Status == SubscriptionStatus.Scheduled)
        {
            // A scheduled downgrade that has not started: it simply never will; the current plan renews.
            if (refund != "none") return KassaError.Validation("refund", "a scheduled subscription has nothing to refund");
            var dropped = await DropScheduledAsync(s, op, sub);
            return new Done(SubscriptionResource.From(dropped), null, null, op.Now);
        }
        if (at == "period_end")
        {
            if (sub.Status == SubscriptionStatus.Incomplete)
                return KassaError.InvalidState($"Subscription '{sub.Id}' is incomplete; cancel it with at: now");
            var after = sub with { CancelAtPeriodEnd = true, CanceledAt = op.Now, UpdatedAt = op.Now };
            await SubscriptionPayments.SaveAsync(s, op, sub, after, EventTypes.SubscriptionUpdated);
            return new Done(SubscriptionResource.From(after), null, null, op.Now);
        }

        string? refundId = null;
        if (refund != "none" && sub.Status != SubscriptionStatus.Incomplete && UnusedCredit(sub, op.Now) is { } period)
        {
            var paid = await LastPaidPeriodInvoiceAsync(s, op, sub);
            if (paid is not null)
            {
                var lines = await s.Invoices.LinesAsync(op.Tenant, [paid.Id]);
                var fee = lines.Where(l => l.Type == "recurring").Sum(l => l.Amount - l.Discount);
                var amount = Proration.Prorate(fee, Proration.Fraction(period.Start, period.End, op.Now, period.End));
                if (amount > 0)
                {
                    var issued = await IssueCreditNote.Execute(s, op, paid.Id, amount, "Unused time after cancellation", refund);
                    if (!issued.IsOk) return issued.Error!;
                    refundId = issued.Value.RefundId;
                }
            }
        }
        var (ended, paymentId) = await EndAsync(s, op, sub, "canceled_by_request");
        return new Done(SubscriptionResource.From(ended), paymentId, refundId, op.Now);
    }

    /// <summary>
    /// Ends a subscription now: <c>canceled</c> with <paramref name="reason"/>, balances revoked, usage
    /// billed since the last renewal invoiced on a final invoice (whose charge attempt is returned for the
    /// caller to complete after the commit; the payments reconcile completes it otherwise).
    /// </summary>
    public static async Task<(SubscriptionRecord Ended, string? PaymentId)> EndAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, string reason)
    {
        var version = (await s.Catalog.GetVersionAsync(op.Tenant, sub.ProductId, sub.ProductVersion))!;
        var product = (await s.Catalog.GetProductAsync(op.Tenant, sub.ProductId))!;
        var wasLive = sub.Status != SubscriptionStatus.Incomplete;
        if (wasLive) await RevokeProduct.Execute(s, op, sub, version);
        var ended = sub with
        {
            Status = SubscriptionStatus.Canceled, CanceledAt = sub.CanceledAt ?? op.Now, EndedAt = op.Now, CancelReason = reason,
            CancelAtPeriodEnd = false, UsageBilledThrough = op.Now, UpdatedAt = op.Now,
        };
        if (sub.ScheduledProductId is not null && reason != ChangePlan.ReasonDowngraded)
        {
            // The change it had scheduled goes with it.
            foreach (var pending in await s.Subscriptions.ListAsync(op.Tenant, new SubscriptionFilter(sub.CustomerId, SubscriptionStatus.Scheduled), null,
                         Catalog.GetPricingTable.SubscriptionsMax))
                if (pending.ProductId == sub.ScheduledProductId) await DropScheduledAsync(s, op, pending);
            ended = ended with { ScheduledProductId = null };
        }
        string? paymentId = null;
        if (wasLive && sub.Currency is not null)
        {
            var usage = await RenewSubscription.UsageLinesAsync(s, op, sub, product, version, sub.CurrentPeriodStart ?? sub.CreatedAt, op.Now);
            // The final invoice's period is the instant the subscription ended, unique like a cycle's start.
            var final = await SubscriptionBilling.InvoiceAsync(s, op, sub, sub.Currency, SubscriptionBilling.ReasonCycle, op.Now, op.Now, usage);
            if (!final.IsOk) throw new InvalidOperationException($"Final invoice of {sub.Id}: {final.Error!.Message}");
            if (final.Value is { Status: InvoiceRules.Open } invoice)
            {
                ended = ended with { LatestInvoiceId = invoice.Id };
                var begun = await ChargeInvoice.BeginAsync(s, op, invoice.Id, null);
                paymentId = begun.IsOk ? begun.Value : null;
            }
        }
        await SubscriptionPayments.SaveAsync(s, op, sub, ended, EventTypes.SubscriptionCanceled);
        return (ended, paymentId);
    }

    /// <summary>Cancels a scheduled subscription that never started, and clears it from the plan that scheduled it.</summary>
    private static async Task<SubscriptionRecord> DropScheduledAsync(IStoreSession s, OperationContext op, SubscriptionRecord scheduled)
    {
        var dropped = scheduled with { Status = SubscriptionStatus.Canceled, CanceledAt = op.Now, EndedAt = op.Now, CancelReason = "canceled_by_request", UpdatedAt = op.Now };
        await SubscriptionPayments.SaveAsync(s, op, scheduled, dropped, EventTypes.SubscriptionCanceled);
        foreach (var current in await s.Catalog.LiveSubscriptionsAsync(op.Tenant, scheduled.CustomerId, Catalog.GetPricingTable.SubscriptionsMax))
        {
            if (current.ScheduledProductId != scheduled.ProductId || !SubscriptionStatus.Renews(current.Status)) continue;
            var locked = (await s.Subscriptions.GetAsync(op.Tenant, current.Id, forUpdate: true))!;
            await SubscriptionPayments.SaveAsync(s, op, locked, locked with { ScheduledProductId = null, UpdatedAt = op.Now }, EventTypes.SubscriptionUpdated);
        }
        return dropped;
    }

    /// <summary>The part of the current period after now, or null when there is none (a trial is not refunded: nothing was paid for it).</summary>
    private static (DateTimeOffset Start, DateTimeOffset End)? UnusedCredit(SubscriptionRecord sub, DateTimeOffset now) =>
        sub is { CurrentPeriodStart: { } start, CurrentPeriodEnd: { } end } && end > now && start < end && sub.Status != SubscriptionStatus.Trialing
            ? (start, end) : null;

    /// <summary>The paid invoice that billed the current period in advance (the first invoice or the last renewal).</summary>
    private static async Task<InvoiceRecord?> LastPaidPeriodInvoiceAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub)
    {
        if (sub.LatestInvoiceId is null) return null;
        var invoice = await s.Invoices.GetAsync(op.Tenant, sub.LatestInvoiceId);
        return invoice is { Status: InvoiceRules.Paid } && invoice.PeriodStart == sub.CurrentPeriodStart ? invoice : null;
    }
}
