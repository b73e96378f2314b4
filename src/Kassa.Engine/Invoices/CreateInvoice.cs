using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Money;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Invoices;

/// <summary>
/// <c>POST /v1/invoices</c>: an empty draft invoice for a customer in one currency. Lines are added
/// with <see cref="AddInvoiceLine"/>; nothing is numbered or posted until <see cref="FinalizeInvoice"/>.
/// An optional <c>coupon</c> code is redeemed now (counted against its <c>max_redemptions</c> under the
/// coupon's lock) and discounts the invoice when it is finalized.
/// </summary>
public static class CreateInvoice
{
    public const int DescriptionLengthMax = 500;

    public sealed record Request(string? CustomerId, string? Currency, string? Description, string? Coupon = null);

    public static async Task<Result<InvoiceResource>> Execute(IStoreSession s, OperationContext op, Request r)
    {
        if (r.CustomerId is null) return KassaError.Missing("customer_id");
        if (r.Currency is null) return KassaError.Missing("currency");
        var errors = new List<FieldError>();
        if (Rules.Text(r.CustomerId, Rules.CustomerIdLengthMax, allowEmpty: false) is { } c) errors.Add(new FieldError("customer_id", c));
        if (!Currencies.TryGet(r.Currency, out var currency)) errors.Add(new FieldError("currency", "must be a supported ISO 4217 currency code such as usd"));
        if (Rules.Text(r.Description, DescriptionLengthMax) is { } d) errors.Add(new FieldError("description", d));
        if (r.Coupon is not null && Coupons.CouponWords.CodeProblem(r.Coupon) is { } cp) errors.Add(new FieldError("coupon", cp));
        if (errors.Count > 0) return KassaError.Validation(errors);

        var customer = await s.Customers.GetAsync(op.Tenant, r.CustomerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", r.CustomerId);
        var invoiceId = op.NewId(IdPrefixes.Invoice);
        string? couponId = null;
        if (r.Coupon is not null)
        {
            var redeemed = await Coupons.RedeemCoupon.RedeemAsync(s, op, r.Coupon, customer.Id, productId: null, currency!.Code, subscriptionId: null, invoiceId);
            if (!redeemed.IsOk) return redeemed.Error!;
            couponId = redeemed.Value.Id;
        }
        var invoice = new InvoiceRecord(op.Tenant.AccountId, op.Tenant.Livemode, invoiceId, customer.Id, null, null, InvoiceRules.Draft,
            currency!.Code, r.Description, null, null, 0, 0, 0, 0, 0, 0, op.Now, null, null, CouponId: couponId);
        await s.Invoices.InsertAsync(invoice);
        var resource = InvoiceResource.From(invoice, []);
        await RecordAudit.Execute(s, op, "invoice.created", "invoice", invoice.Id, ["customer_id", "currency", "description"]);
        await EmitEvent.Execute(s, op, EventTypes.InvoiceCreated, "invoice", invoice.Id, resource);
        return resource;
    }
}
