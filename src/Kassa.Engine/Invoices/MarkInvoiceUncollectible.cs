using Kassa.Core.Errors;
using Kassa.Core.Ledger;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Ledger;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Invoices;

/// <summary>
/// <c>POST /v1/invoices/{id}/mark_uncollectible</c> (spec §7): an open invoice that will not be paid
/// leaves receivables — its finalize entry is reversed exactly, under the action
/// <c>marked_uncollectible</c> — and keeps its number and figures. Only an open invoice can be marked;
/// anything else answers <c>409 invalid_state</c> (a draft is voided instead).
/// </summary>
public static class MarkInvoiceUncollectible
{
    public static async Task<Result<InvoiceResource>> Execute(IStoreSession s, OperationContext op, string invoiceId)
    {
        var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
        if (invoice is null) return KassaError.NotFound("invoice", invoiceId);
        if (invoice.Status != InvoiceRules.Open)
            return KassaError.InvalidState($"Invoice '{invoice.Id}' is {invoice.Status}; only an open invoice can be marked uncollectible");
        var finalized = await s.Ledger.FindBySourceAsync(op.Tenant, "invoice", invoice.Id, "finalized")
            ?? throw new InvalidOperationException($"Open invoice {invoice.Id} has no finalize entry");
        await PostJournalEntry.Execute(s, op, Postings.InvoiceMarkedUncollectible(PostJournalEntry.ToJournalEntry(finalized)),
            $"Invoice {invoice.Number} marked uncollectible", invoice.CustomerId);
        var marked = invoice with { Status = InvoiceRules.Uncollectible };
        await s.Invoices.UpdateAsync(marked);
        var resource = await InvoiceRules.ResourceAsync(s, op.Tenant, marked);
        await RecordAudit.Execute(s, op, "invoice.marked_uncollectible", "invoice", marked.Id, ["status"]);
        await EmitEvent.Execute(s, op, EventTypes.InvoiceMarkedUncollectible, "invoice", marked.Id, resource,
            new Dictionary<string, object?> { ["status"] = invoice.Status });
        return resource;
    }
}
