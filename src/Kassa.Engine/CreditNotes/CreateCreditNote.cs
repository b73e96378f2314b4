using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Invoices;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CreditNotes;

/// <summary>
/// <c>POST /v1/credit_notes</c> <c>{invoice_id, amount? | lines?, reason, refund}</c>: validates the
/// request, sums the lines when given by line (each at most what the customer was charged for that
/// line), and issues the note with <see cref="IssueCreditNote"/> in this transaction.
/// </summary>
public static class CreateCreditNote
{
    public sealed record LineRequest(string? LineId, long? Amount);

    public sealed record Request(string? InvoiceId, long? Amount, List<LineRequest>? Lines, string? Reason, string? Refund);

    public static async Task<Result<CreditNoteResource>> Execute(IStoreSession s, OperationContext op, Request r)
    {
        if (r.InvoiceId is null) return KassaError.Missing("invoice_id");
        if (r.Amount is null && r.Lines is null) return KassaError.Missing("amount");
        if (r.Reason is null) return KassaError.Missing("reason");
        if (r.Refund is null) return KassaError.Missing("refund");
        var errors = new List<FieldError>();
        if (Rules.Text(r.InvoiceId, 64, allowEmpty: false) is { } i) errors.Add(new FieldError("invoice_id", i));
        if (r.Amount is not null && r.Lines is not null) errors.Add(new FieldError("amount", "give either amount or lines, not both"));
        if (r.Amount is < 1 or > InvoiceRules.AmountMax) errors.Add(new FieldError("amount", $"must be a whole number of minor units from 1 to {InvoiceRules.AmountMax}"));
        if (r.Lines is { } ls && (ls.Count is 0 or > InvoiceRules.LinesMax || ls.Any(l => l.LineId is null || l.Amount is null or < 1 or > InvoiceRules.AmountMax)))
            errors.Add(new FieldError("lines", $"must be 1 to {InvoiceRules.LinesMax} entries, each with a line_id and an amount from 1 to {InvoiceRules.AmountMax}"));
        else if (r.Lines is { } dup && dup.Select(l => l.LineId).Distinct(StringComparer.Ordinal).Count() != dup.Count)
            errors.Add(new FieldError("lines", "must not name a line twice"));
        if (Rules.Text(r.Reason, IssueCreditNote.ReasonLengthMax, allowEmpty: false) is { } re) errors.Add(new FieldError("reason", re));
        if (!CreditNoteWords.Refunds.Contains(r.Refund)) errors.Add(new FieldError("refund", "must be payment or credit"));
        if (errors.Count > 0) return KassaError.Validation(errors);

        long amount;
        List<CreditNoteLine>? lines = null;
        if (r.Lines is { } given)
        {
            var invoice = await s.Invoices.GetAsync(op.Tenant, r.InvoiceId, forUpdate: true);
            if (invoice is null) return KassaError.NotFound("invoice", r.InvoiceId) with { Param = "invoice_id" };
            var byId = (await s.Invoices.LinesAsync(op.Tenant, [invoice.Id])).ToDictionary(l => l.Id, StringComparer.Ordinal);
            // What the customer was charged for a line: its amount less its discount, plus its tax when tax was added on top.
            var taxAdded = invoice.Total == invoice.Subtotal - invoice.Discount + invoice.Tax;
            lines = [];
            foreach (var l in given)
            {
                if (!byId.TryGetValue(l.LineId!, out var line)) return KassaError.Validation("lines", $"line '{l.LineId}' is not a line of invoice '{invoice.Id}'");
                var charged = line.Amount - line.Discount + (taxAdded ? line.Tax : 0);
                if (l.Amount > charged) return KassaError.Validation("lines", $"line '{line.Id}' can be credited at most {Math.Max(0, charged)}");
                lines.Add(new CreditNoteLine(line.Id, l.Amount!.Value));
            }
            amount = lines.Sum(l => l.Amount);
        }
        else amount = r.Amount!.Value;

        var note = await IssueCreditNote.IssueAsync(s, op, r.InvoiceId, amount, r.Reason, r.Refund, lines);
        return note.IsOk ? CreditNoteResource.From(note.Value) : Result<CreditNoteResource>.Fail(note.Error!);
    }
}
