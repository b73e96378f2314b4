using Kassa.Engine.Common;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// A dunning retry (spec §4.2): in one transaction with the invoice locked, an open invoice whose
/// retry is due gets a new charge attempt (its <c>next_attempt_at</c> cleared, so no other node picks
/// it up); a customer without a usable method counts as a failed attempt at once. Returns the attempt
/// to complete after the commit.
/// </summary>
public static class RetryInvoicePayment
{
    public static async Task<string?> Execute(IStoreSession s, OperationContext op, string invoiceId)
    {
        var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
        if (invoice is not { Status: InvoiceRules.Open, NextAttemptAt: { } due } || due > op.Now) return null;
        var cleared = invoice with { NextAttemptAt = null };
        await s.Invoices.UpdateAsync(cleared);
        var begun = await ChargeInvoice.BeginAsync(s, op, invoice.Id, null);
        if (begun.IsOk) return begun.Value;
        await SubscriptionPayments.ChargeCouldNotBeginAsync(s, op, invoice.Id, begun.Error!.Code);
        return null;
    }
}
