using System.Text.Json.Serialization;
using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Invoices;

/// <summary>
/// <c>POST /v1/invoices/{id}/lines</c>: adds a manual line to a draft. The line is priced either as
/// <c>quantity × unit_amount_decimal</c> (rounded once, half away from zero) or by its
/// <c>amount</c> directly; only an <c>amount</c> may be negative (a credit). Answers the invoice
/// with its figures recomputed.
/// </summary>
public static class AddInvoiceLine
{
    public sealed record Request(
        string? Description, decimal? Quantity,
        [property: JsonConverter(typeof(DecimalStringConverter))] decimal? UnitAmountDecimal,
        long? Amount);

    public static async Task<Result<InvoiceResource>> Execute(IStoreSession s, OperationContext op, string invoiceId, Request r)
    {
        if (r.Description is null) return KassaError.Missing("description");
        if (r.UnitAmountDecimal is null && r.Amount is null) return KassaError.Missing("amount");
        var errors = new List<FieldError>();
        if (Rules.Text(r.Description, CreateInvoice.DescriptionLengthMax, allowEmpty: false) is { } d) errors.Add(new FieldError("description", d));
        long quantityMicros = Micro.PerUnit;
        if (r.Quantity is { } q && Micro.Problem(q, allowZero: false, allowNegative: false, out quantityMicros) is { } qp) errors.Add(new FieldError("quantity", qp));
        if (r.UnitAmountDecimal is not null && r.Amount is not null)
            errors.Add(new FieldError("amount", "give either amount or unit_amount_decimal, not both"));
        if (r.UnitAmountDecimal is { } u && (u < 0 || u > InvoiceRules.AmountMax))
            errors.Add(new FieldError("unit_amount_decimal", $"must be from 0 to {InvoiceRules.AmountMax} minor units"));
        if (r.Amount is { } a && (a < -InvoiceRules.AmountMax || a > InvoiceRules.AmountMax))
            errors.Add(new FieldError("amount", $"must be a whole number of minor units from -{InvoiceRules.AmountMax} to {InvoiceRules.AmountMax}"));
        if (errors.Count > 0) return KassaError.Validation(errors);

        long amount;
        if (r.UnitAmountDecimal is { } unit)
        {
            // Both factors are bounded (quantity ≤ 9e12, unit ≤ 1e12), so the product fits a decimal exactly.
            var exact = Micro.ToDecimal(quantityMicros) * unit;
            var rounded = Math.Round(exact, 0, MidpointRounding.AwayFromZero);
            if (rounded > InvoiceRules.AmountMax) return KassaError.Validation("quantity", $"times unit_amount_decimal must be at most {InvoiceRules.AmountMax} minor units");
            amount = decimal.ToInt64(rounded);
        }
        else amount = r.Amount!.Value;

        var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
        if (invoice is null) return KassaError.NotFound("invoice", invoiceId);
        if (invoice.Status != InvoiceRules.Draft) return KassaError.InvalidState($"Invoice '{invoice.Id}' is {invoice.Status}; lines can be added only to a draft");
        var lines = (await s.Invoices.LinesAsync(op.Tenant, [invoice.Id])).ToList();
        if (lines.Count >= InvoiceRules.LinesMax)
            return new KassaError(ErrorCodes.LimitReached, $"An invoice has at most {InvoiceRules.LinesMax} lines");

        var line = new InvoiceLineRecord(op.Tenant.AccountId, op.Tenant.Livemode, invoice.Id, op.NewId(IdPrefixes.InvoiceLine), "manual", r.Description,
            quantityMicros, r.UnitAmountDecimal, amount, op.Now);
        await s.Invoices.InsertLineAsync(line);
        lines.Add(line);
        var updated = InvoiceRules.WithFigures(invoice, lines);
        await s.Invoices.UpdateAsync(updated);
        await RecordAudit.Execute(s, op, "invoice.line_added", "invoice", invoice.Id, ["lines"]);
        return InvoiceResource.From(updated, lines);
    }
}
