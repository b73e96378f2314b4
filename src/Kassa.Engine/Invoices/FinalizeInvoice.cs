using Kassa.Core.Errors;
using Kassa.Core.Ledger;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Ledger;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Invoices;

/// <summary>
/// <c>POST /v1/invoices/{id}/finalize</c>: draft → open. In one transaction: the figures are computed
/// by <see cref="Kassa.Core.Invoicing.InvoiceMath"/> and frozen, the next number of the account and mode
/// is taken (<c>KAS-000001</c>, gap-free: the counter is incremented in this transaction), the finalize
/// entry is posted to the ledger and <c>invoice.finalized</c> is written to the outbox. Any other
/// status answers <c>409 invalid_state</c>; a draft without lines cannot be finalized either.
/// </summary>
public static class FinalizeInvoice
{
    public static async Task<Result<InvoiceResource>> Execute(IStoreSession s, OperationContext op, string invoiceId)
    {
        // Locking the invoice first makes a second finalize of the same invoice wait and then see it open.
        var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
        if (invoice is null) return KassaError.NotFound("invoice", invoiceId);
        if (invoice.Status != InvoiceRules.Draft) return KassaError.InvalidState($"Invoice '{invoice.Id}' is {invoice.Status}; only a draft can be finalized");
        var lines = await s.Invoices.LinesAsync(op.Tenant, [invoice.Id]);
        if (lines.Count == 0) return KassaError.InvalidState($"Invoice '{invoice.Id}' has no lines; add a line before finalizing it");

        var figures = InvoiceRules.Figures(lines);
        var number = InvoiceRules.Number(await s.Invoices.NextNumberAsync(op.Tenant));
        var open = InvoiceRules.WithFigures(invoice, lines) with { Status = InvoiceRules.Open, Number = number, FinalizedAt = op.Now };
        await s.Invoices.UpdateAsync(open);
        await PostJournalEntry.Execute(s, op, Postings.InvoiceFinalized(open.Id, open.Currency, figures), $"Invoice {number} finalized", open.CustomerId);

        var resource = InvoiceResource.From(open, lines);
        await RecordAudit.Execute(s, op, "invoice.finalized", "invoice", open.Id, ["status", "number"]);
        await EmitEvent.Execute(s, op, EventTypes.InvoiceFinalized, "invoice", open.Id, resource,
            new Dictionary<string, object?> { ["status"] = InvoiceRules.Draft, ["number"] = null });
        return resource;
    }
}
