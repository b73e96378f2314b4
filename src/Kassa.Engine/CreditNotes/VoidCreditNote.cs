using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.CustomerCredit;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Ledger;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CreditNotes;

/// <summary>
/// <c>POST /v1/credit_notes/{id}/void</c>: undoes an issued credit note while what it gave is still
/// there to take back — the open invoice's amount due goes up again, or the customer credit is taken
/// off the balance — and posts the exact reverse of its entry (action <c>voided</c>). Refused with
/// <c>409 invalid_state</c> when that is gone: the invoice is no longer open (paid or voided since), the
/// customer has spent the credit, or the note's refund went out to the payment method.
/// </summary>
public static class VoidCreditNote
{
    public static async Task<Result<CreditNoteResource>> Execute(IStoreSession s, OperationContext op, string id)
    {
        var probe = await s.CreditNotes.GetAsync(op.Tenant, id);
        if (probe is null) return KassaError.NotFound("credit note", id);
        // The invoice is locked before the note, in the same order as issuing, so the two never deadlock.
        var invoice = await s.Invoices.GetAsync(op.Tenant, probe.InvoiceId, forUpdate: true)
            ?? throw new InvalidOperationException($"Credit note {id} has no invoice {probe.InvoiceId}");
        var note = (await s.CreditNotes.GetAsync(op.Tenant, id, forUpdate: true))!;
        if (note.Status == CreditNoteWords.Void) return KassaError.InvalidState($"Credit note '{id}' is already void");
        switch (note.Kind)
        {
            case CreditNoteWords.PaymentRefund:
                return KassaError.InvalidState($"Credit note '{id}' was refunded to the payment method; a refund that went out cannot be voided");
            case CreditNoteWords.OpenInvoice:
                if (invoice.Status != InvoiceRules.Open)
                    return KassaError.InvalidState($"Invoice '{invoice.Id}' is {invoice.Status}; the credit note's credit was already used");
                await s.Invoices.UpdateAsync(invoice with { AmountDue = invoice.AmountDue + note.Amount });
                break;
            default:
                if (await CustomerCreditBook.ChangeAsync(s, op, note.CustomerId, note.Currency, -note.Amount, CustomerCreditBook.CreditNoteVoided,
                        $"Credit note {note.Id} voided", invoiceId: note.InvoiceId, creditNoteId: note.Id) is null)
                    return KassaError.InvalidState($"Customer '{note.CustomerId}' already used the credit of credit note '{id}'");
                break;
        }
        var issued = await s.Ledger.FindBySourceAsync(op.Tenant, "credit_note", note.Id, "issued")
            ?? throw new InvalidOperationException($"Credit note {note.Id} has no issue entry");
        var entry = PostJournalEntry.ToJournalEntry(issued);
        await PostJournalEntry.Execute(s, op, entry.Reverse(entry.Source with { Action = "voided" }), $"Credit note on invoice {invoice.Number} voided", note.CustomerId);

        var voided = note with { Status = CreditNoteWords.Void, VoidedAt = op.Now };
        await s.CreditNotes.UpdateAsync(voided);
        var resource = CreditNoteResource.From(voided);
        await RecordAudit.Execute(s, op, "credit_note.voided", "credit_note", id, ["status"]);
        await EmitEvent.Execute(s, op, EventTypes.CreditNoteVoided, "credit_note", id, resource, new Dictionary<string, object?> { ["status"] = CreditNoteWords.Issued });
        return resource;
    }
}
