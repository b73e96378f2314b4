using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Invoices;

/// <summary><c>DELETE /v1/invoices/{id}/lines/{line_id}</c>: removes a line from a draft; answers the invoice with its figures recomputed.</summary>
public static class DeleteInvoiceLine
{
    public static async Task<Result<InvoiceResource>> Execute(IStoreSession s, OperationContext op, string invoiceId, string lineId)
    {
        var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
        if (invoice is null) return KassaError.NotFound("invoice", invoiceId);
        if (invoice.Status != InvoiceRules.Draft) return KassaError.InvalidState($"Invoice '{invoice.Id}' is {invoice.Status}; lines can be removed only from a draft");
        if (!await s.Invoices.DeleteLineAsync(op.Tenant, invoice.Id, lineId)) return KassaError.NotFound("invoice line", lineId);
        var lines = await s.Invoices.LinesAsync(op.Tenant, [invoice.Id]);
        var updated = InvoiceRules.WithFigures(invoice, lines);
        await s.Invoices.UpdateAsync(updated);
        await RecordAudit.Execute(s, op, "invoice.line_deleted", "invoice", invoice.Id, ["lines"]);
        return InvoiceResource.From(updated, lines);
    }
}
