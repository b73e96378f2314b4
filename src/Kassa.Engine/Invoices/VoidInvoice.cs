using Kassa.Core.Errors;
using Kassa.Core.Ledger;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Ledger;
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

        if (invoice.Status == InvoiceRules.Open)
        {
            var finalized = await s.Ledger.FindBySourceAsync(op.Tenant, "invoice", invoice.Id, "finalized")
                ?? throw new InvalidOperationException($"Open invoice {invoice.Id} has no finalize entry");
            var reverse = Postings.InvoiceVoided(PostJournalEntry.ToJournalEntry(finalized));
            await PostJournalEntry.Execute(s, op, reverse, $"Invoice {invoice.Number} voided", invoice.CustomerId);
        }
        var voided = invoice with { Status = InvoiceRules.Void, VoidedAt = op.Now };
        await s.Invoices.UpdateAsync(voided);
        var resource = await InvoiceRules.ResourceAsync(s, op.Tenant, voided);
        await RecordAudit.Execute(s, op, "invoice.voided", "invoice", voided.Id, ["status"]);
        await EmitEvent.Execute(s, op, EventTypes.InvoiceVoided, "invoice", voided.Id, resource,
            new Dictionary<string, object?> { ["status"] = invoice.Status });
        return resource;
    }
}
