using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Engine.Invoices;

/// <summary>
/// An open invoice becomes <c>paid</c> because <paramref name="amount"/> settled all it owed: stored,
/// audited, <c>invoice.paid</c> written to the outbox and, for a subscription's invoice, the
/// subscription told (an incomplete one activates, a past-due one recovers), all in the caller's
/// transaction. The money's own journal entry (a payment's DR 1000 / CR 1200, customer credit's
/// DR 2000 / CR 1200) is the caller's: this records only what happened to the invoice.
/// </summary>
public static class MarkInvoicePaid
{
    public static async Task<InvoiceRecord> Execute(IStoreSession s, OperationContext op, InvoiceRecord invoice, long amount)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        if (invoice.Status != InvoiceRules.Open) throw new InvalidOperationException($"Invoice {invoice.Id} is {invoice.Status}; only an open invoice can become paid");
        // Paying less than is due leaves the invoice open: a caller doing so has a bug, not a partial payment.
        if (amount < invoice.AmountDue) throw new ArgumentOutOfRangeException(nameof(amount), $"{amount} does not settle the {invoice.AmountDue} due on {invoice.Id}");
        var paid = invoice with
        {
            Status = InvoiceRules.Paid, AmountPaid = checked(invoice.AmountPaid + amount), AmountDue = 0, PaidAt = op.Now, NextAttemptAt = null,
        };
        await InvoiceRules.SaveStatusChangeAsync(s, op, invoice, paid, EventTypes.InvoicePaid);
        if (paid.SubscriptionId is not null) await SubscriptionPayments.OnInvoicePaidAsync(s, op, paid);
        return paid;
    }
}
