using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Invoices;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// <c>GET /v1/invoices/upcoming?subscription_id=</c> (spec §7): the invoice the next renewal would make if
/// it ran at the end of the current period with what is known now (fees for the next period, usage
/// so far in arrears, coupon, tax, customer credit). It runs the renewal itself at that instant inside
/// a transaction that is always rolled back, so it is exactly what the renewal computes; the answer is
/// shown as a <c>draft</c> without a number, and its id is not stored anywhere.
/// </summary>
public static class GetUpcomingInvoice
{
    public static async Task<Result<InvoiceResource>> Execute(IStoreSession s, OperationContext op, string? subscriptionId)
    {
        if (subscriptionId is null) return KassaError.Missing("subscription_id");
        var sub = await s.Subscriptions.GetAsync(op.Tenant, subscriptionId);
        if (sub is null) return KassaError.NotFound("subscription", subscriptionId) with { Param = "subscription_id" };
        op = await TestClocks.TestClockRules.ForCustomerAsync(s, op, sub.TestClockId);
        if (!SubscriptionStatus.Renews(sub.Status) || sub.Paused || sub.CurrentPeriodEnd is not { } end)
            return KassaError.InvalidState($"Subscription '{sub.Id}' is {(sub.Paused ? "paused" : sub.Status)}; it has no upcoming invoice");
        if (sub.CancelAtPeriodEnd) return KassaError.InvalidState($"Subscription '{sub.Id}' ends at its period end; it has no upcoming invoice");
        var at = end > op.Now ? end : op.Now;
        var renewal = new OperationContext(op.Tenant, op.Actor, op.RequestId, at);
        var renewed = await RenewSubscription.Execute(s, renewal, sub.Id);
        if (renewed?.InvoiceId is not { } invoiceId)
            return KassaError.InvalidState($"Subscription '{sub.Id}' bills nothing at its next renewal");
        var invoice = (await s.Invoices.GetAsync(op.Tenant, invoiceId))!;
        var draft = invoice with { Status = InvoiceRules.Draft, Number = null, FinalizedAt = null, PaidAt = null, AmountPaid = 0, AmountDue = invoice.AmountDue + invoice.AmountPaid };
        return InvoiceResource.From(draft, await s.Invoices.LinesAsync(op.Tenant, [invoiceId]));
    }
}
