using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Ledger;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.CustomerCredit;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Json;
using Kassa.Engine.Ledger;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Engine.CreditNotes;

/// <summary>
/// Issues a credit note against a finalized invoice inside the caller's transaction (used by
/// <c>POST /v1/credit_notes</c> and by canceling a subscription now with a refund). With
/// <c>refund: "credit"</c> the amount goes to the customer's credit balance; with <c>"payment"</c> a
/// refund attempt is written in the same transaction and returned, for the caller to complete with
/// <see cref="Payments.RefundPayment.CompleteAsync"/> after the commit. CONTRACT STUB: implemented by
/// the credit notes work.
/// </summary>
/// <remarks>
/// The invoice row is locked first, so concurrent credit notes of one invoice are counted one after
/// the other and never credit more than its total. On an <c>open</c> invoice the note lowers
/// <c>amount_due</c> whatever <c>refund</c> says (nothing was paid to give back): DR 4950 / CR 1200,
/// and an invoice left with nothing due becomes <c>paid</c>. On a <c>paid</c> invoice <c>credit</c>
/// posts DR 4950 / CR 2000 and adds the amount to the customer's credit; <c>payment</c> writes a
/// refund attempt and posts nothing itself (the refund posts DR 4950 / CR 1000 when it succeeds).
/// </remarks>
public static class IssueCreditNote
{
    /// <param name="Refund"><c>credit</c> or <c>payment</c>.</param>
    public sealed record Issued(string CreditNoteId, long Amount, string Refund, string? RefundId);

    public const int ReasonLengthMax = 500;

    public static async Task<Result<Issued>> Execute(IStoreSession s, OperationContext op, string invoiceId, long amount, string reason, string refund)
    {
        var note = await IssueAsync(s, op, invoiceId, amount, reason, refund, null);
        return note.IsOk ? new Issued(note.Value.Id, note.Value.Amount, note.Value.Refund, note.Value.RefundId) : Result<Issued>.Fail(note.Error!);
    }

    /// <summary>The credit note as stored; <paramref name="lines"/> are the invoice lines it credits, when given by line (already summed into <paramref name="amount"/>).</summary>
    public static async Task<Result<CreditNoteRecord>> IssueAsync(IStoreSession s, OperationContext op, string invoiceId, long amount, string reason, string refund,
        IReadOnlyList<CreditNoteLine>? lines)
    {
        if (amount <= 0) return KassaError.Validation("amount", "must be a whole number of minor units above 0");
        if (!CreditNoteWords.Refunds.Contains(refund)) return KassaError.Validation("refund", "must be payment or credit");
        var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
        if (invoice is null) return KassaError.NotFound("invoice", invoiceId) with { Param = "invoice_id" };
        if (invoice.Status is not (InvoiceRules.Open or InvoiceRules.Paid))
            return KassaError.InvalidState($"Invoice '{invoice.Id}' is {invoice.Status}; credit notes are issued against open or paid invoices");
        var creditable = invoice.Total - await s.CreditNotes.IssuedTotalAsync(op.Tenant, invoice.Id);
        if (amount > creditable)
            return KassaError.Validation("amount", $"must be at most {Math.Max(0, creditable)}, the invoice's total less its earlier credit notes");
        if (invoice.Status == InvoiceRules.Open && amount > invoice.AmountDue)
            return KassaError.Validation("amount", $"must be at most {invoice.AmountDue}, what is still due on the open invoice");

        var id = op.NewId(IdPrefixes.CreditNote);
        string kind;
        string? refundId = null;
        if (invoice.Status == InvoiceRules.Open)
        {
            kind = CreditNoteWords.OpenInvoice;
            await PostJournalEntry.Execute(s, op, Postings.CreditNoteOnOpenInvoice(id, invoice.Currency, amount),
                $"Credit note on invoice {invoice.Number}", invoice.CustomerId);
            var paidNow = invoice.AmountDue == amount;
            var lowered = invoice with
            {
                AmountDue = invoice.AmountDue - amount, Status = paidNow ? InvoiceRules.Paid : InvoiceRules.Open, PaidAt = paidNow ? op.Now : invoice.PaidAt,
            };
            if (!paidNow) await s.Invoices.UpdateAsync(lowered);
            else
            {
                // Nothing is left to collect: the invoice is settled by the credit note.
                await InvoiceRules.SaveStatusChangeAsync(s, op, invoice, lowered, EventTypes.InvoicePaid);
                if (lowered.SubscriptionId is not null) await SubscriptionPayments.OnInvoicePaidAsync(s, op, lowered);
            }
        }
        else if (refund == "credit")
        {
            kind = CreditNoteWords.CustomerCredit;
            await PostJournalEntry.Execute(s, op, Postings.CreditNoteAsCredit(id, invoice.Currency, amount),
                $"Credit note on invoice {invoice.Number} as customer credit", invoice.CustomerId);
            await CustomerCreditBook.ChangeAsync(s, op, invoice.CustomerId, invoice.Currency, amount, CustomerCreditBook.CreditNote,
                $"Credit note on invoice {invoice.Number}", invoiceId: invoice.Id, creditNoteId: id);
        }
        else
        {
            kind = CreditNoteWords.PaymentRefund;
            var paymentId = await FindInvoicePayment.Execute(s, op.Tenant, invoice.Id);
            if (paymentId is null) return KassaError.InvalidState($"Invoice '{invoice.Id}' has no succeeded payment to refund; issue the credit note with refund: credit");
            var begun = await RefundPayment.BeginAsync(s, op, paymentId, amount, id);
            if (!begun.IsOk) return begun.Error!;
            refundId = begun.Value;
        }

        var note = new CreditNoteRecord(op.Tenant.AccountId, op.Tenant.Livemode, id, invoice.Id, invoice.CustomerId, invoice.Currency, amount, reason, refund,
            kind, CreditNoteWords.Issued, refundId, lines is null ? null : JsonSerializer.Serialize(lines, KassaJson.Options), op.Now, null);
        await s.CreditNotes.InsertAsync(note);
        await RecordAudit.Execute(s, op, "credit_note.created", "credit_note", id, ["invoice_id", "amount", "refund"]);
        await EmitEvent.Execute(s, op, EventTypes.CreditNoteCreated, "credit_note", id, CreditNoteResource.From(note));
        return note;
    }
}
