using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// A paid subscription whose first invoice was never paid does not wait forever: <see cref="After"/> after
/// it was made (Stripe's window for an incomplete subscription) it becomes <c>expired</c> and its first
/// invoice is voided, which takes it out of receivables with the exact reverse of its finalize entry.
/// Nothing was granted, so nothing is revoked. A charge still in flight for the invoice (its attempt not
/// yet settled) holds the expiry back to a later round. Runs in one transaction with the subscription
/// and the invoice locked; a subscription paid meanwhile is left alone.
/// </summary>
public static class ExpireIncompleteSubscription
{
    public static readonly TimeSpan After = TimeSpan.FromHours(23);

    public const string ReasonIncompleteExpired = "incomplete_expired";

    public static async Task<bool> Execute(IStoreSession s, OperationContext op, string subscriptionId)
    {
        var sub = await s.Subscriptions.GetAsync(op.Tenant, subscriptionId, forUpdate: true);
        if (sub is not { Status: SubscriptionStatus.Incomplete } || sub.CreatedAt + After > op.Now) return false;
        if (sub.LatestInvoiceId is { } invoiceId)
        {
            if (await s.Payments.ProcessingPaymentOfInvoiceAsync(op.Tenant, invoiceId) is not null) return false;
            var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId);
            if (invoice is { Status: InvoiceRules.Paid }) return false;
            if (invoice is { Status: InvoiceRules.Open or InvoiceRules.Draft })
            {
                var voided = await VoidInvoice.Execute(s, op, invoiceId);
                if (!voided.IsOk) throw new InvalidOperationException($"Voiding {invoiceId} of expiring {sub.Id}: {voided.Error!.Message}");
            }
        }
        var expired = sub with { Status = SubscriptionStatus.Expired, EndedAt = op.Now, CancelReason = ReasonIncompleteExpired, UpdatedAt = op.Now };
        await SubscriptionPayments.SaveAsync(s, op, sub, expired, EventTypes.SubscriptionUpdated);
        return true;
    }
}
