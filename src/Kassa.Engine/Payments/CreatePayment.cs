using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Money;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Invoices;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// <c>POST /v1/payments</c>, first step (in the request's transaction): every payment settles an
/// invoice. With <c>invoice_id</c> the amount and currency must be that open invoice's
/// <c>amount_due</c> and currency; without one a one-line <c>one_time</c> invoice for the amount and
/// description is created and finalized here through the invoice use cases, so its finalize entry
/// (DR 1200 / CR revenue) and the payment's (DR 1000 / CR 1200) keep receivables equal to the open
/// invoices. Then the attempt is begun (<see cref="ChargeInvoice"/>); the endpoint completes it after commit.
/// </summary>
public static class CreatePayment
{
    public sealed record Request(string? CustomerId, long? Amount, string? Currency, string? PaymentMethodId, string? Description, string? InvoiceId);

    public static async Task<Result<string>> BeginAsync(IStoreSession s, OperationContext op, Request r, string? requestKey)
    {
        if (r.CustomerId is null) return KassaError.Missing("customer_id");
        if (r.Amount is null) return KassaError.Missing("amount");
        if (r.Currency is null) return KassaError.Missing("currency");
        if (r.Description is null) return KassaError.Missing("description");
        var errors = new List<FieldError>();
        if (Rules.Text(r.CustomerId, Rules.CustomerIdLengthMax, allowEmpty: false) is { } c) errors.Add(new FieldError("customer_id", c));
        if (r.Amount is not (> 0 and <= InvoiceRules.AmountMax)) errors.Add(new FieldError("amount", $"must be a whole number of minor units from 1 to {InvoiceRules.AmountMax}"));
        if (!Currencies.TryGet(r.Currency, out var currency)) errors.Add(new FieldError("currency", "must be a supported ISO 4217 currency code such as usd"));
        if (Rules.Text(r.Description, CreateInvoice.DescriptionLengthMax, allowEmpty: false) is { } d) errors.Add(new FieldError("description", d));
        if (r.PaymentMethodId is not null && Rules.Text(r.PaymentMethodId, 64, allowEmpty: false) is { } m) errors.Add(new FieldError("payment_method_id", m));
        if (r.InvoiceId is not null && Rules.Text(r.InvoiceId, 64, allowEmpty: false) is { } i) errors.Add(new FieldError("invoice_id", i));
        if (errors.Count > 0) return KassaError.Validation(errors);

        if (requestKey is not null && await s.Payments.FindPaymentByRequestKeyAsync(op.Tenant, requestKey) is { } earlier)
            return earlier.Id;

        string invoiceId;
        if (r.InvoiceId is not null)
        {
            var invoice = await s.Invoices.GetAsync(op.Tenant, r.InvoiceId);
            if (invoice is null || invoice.CustomerId != r.CustomerId) return new KassaError(ErrorCodes.ResourceMissing, $"No such invoice of customer '{r.CustomerId}': '{r.InvoiceId}'", "invoice_id");
            if (invoice.Currency != currency!.Code) return KassaError.Validation("currency", $"must be the invoice's currency, {invoice.Currency}");
            if (invoice.Status == InvoiceRules.Open && invoice.AmountDue != r.Amount)
                return KassaError.Validation("amount", $"must be the invoice's amount_due, {invoice.AmountDue}");
            invoiceId = invoice.Id;
        }
        else
        {
            var created = await CreateInvoice.Execute(s, op, new CreateInvoice.Request(r.CustomerId, currency!.Code, r.Description));
            if (!created.IsOk) return created.Error!;
            invoiceId = created.Value.Id;
            var line = new InvoiceLineRecord(op.Tenant.AccountId, op.Tenant.Livemode, invoiceId, op.NewId(IdPrefixes.InvoiceLine), "one_time", r.Description,
                Kassa.Core.Balances.Micro.PerUnit, null, r.Amount!.Value, op.Now);
            await s.Invoices.InsertLineAsync(line);
            var invoice = (await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true))!;
            await s.Invoices.UpdateAsync(InvoiceRules.WithFigures(invoice, [line]));
            var finalized = await FinalizeInvoice.Execute(s, op, invoiceId);
            if (!finalized.IsOk) return finalized.Error!;
        }
        return await ChargeInvoice.BeginAsync(s, op, invoiceId, r.PaymentMethodId, requestKey);
    }
}
