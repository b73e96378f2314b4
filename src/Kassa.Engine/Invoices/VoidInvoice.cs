using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Invoices;

/// <summary>
/// <c>POST /v1/invoices/{id}/void</c>: an open invoice becomes void and its finalize entry is
/// reversed exactly (one reversing entry, so receivables drop by what it had due). A draft may be
/// voided too: it was never numbered nor posted, so nothing is reversed and it keeps no number. The
/// invoice's figures stay as they were issued. Paid, uncollectible and void invoices answer
/// <c>409 invalid_state</c> (a paid invoice is corrected with a credit note, not a void).
/// </summary>
public static class VoidInvoice
{
    public static async Task<Result<InvoiceResource>> Execute(IStoreSession s, OperationContext op, string invoiceId)
    {
        var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
        if (invoice is null) return KassaError.NotFound("invoice", invoiceId);
        if (invoice.Status is not (InvoiceRules.Draft or InvoiceRules.Open))
            return KassaError.InvalidState($"Invoice '{invoice.Id}' is {invoice.Status}; only a draft or open invoice can be voided");

        if (invoice.Status == InvoiceRules.Open) await InvoiceRules.ReverseFinalizeEntryAsync(s, op, invoice, "voided", "voided");
        var resource = await InvoiceRules.SaveStatusChangeAsync(s, op, invoice, invoice with { Status = InvoiceRules.Void, VoidedAt = op.Now }, EventTypes.InvoiceVoided);
        return resource;
    }
}
