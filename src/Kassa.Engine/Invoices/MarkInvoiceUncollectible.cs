using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
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
        await InvoiceRules.ReverseFinalizeEntryAsync(s, op, invoice, "marked_uncollectible", "marked uncollectible");
        var resource = await InvoiceRules.SaveStatusChangeAsync(s, op, invoice, invoice with { Status = InvoiceRules.Uncollectible }, EventTypes.InvoiceMarkedUncollectible);
        return resource;
    }
}
