using Kassa.Core.Errors;
using Kassa.Core.Money;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Coupons;

/// <summary>
/// <c>POST /v1/coupons/validate</c> (secret or publishable key): what a code would take off an amount
/// of a product, with no effect. A code that does not apply is an answer, not an error:
/// <c>valid: false</c> with a stable <c>reason</c> — <c>not_found</c>, <c>archived</c>, <c>expired</c>,
/// <c>max_redemptions_reached</c>, <c>not_applicable_to_product</c>, <c>currency_mismatch</c>.
/// <c>currency</c> is optional: without it a fixed coupon is quoted in its own currency.
/// </summary>
public static class ValidateCoupon
{
    public sealed record Request(string? Code, string? CustomerId, string? ProductId, long? Amount, string? Currency);

    public sealed record Response(bool Valid, long DiscountAmount, long FinalAmount, string? Reason, string? CouponId)
    {
        [System.Text.Json.Serialization.JsonPropertyOrder(-1)] public string Object => "coupon_validation";
    }

    public static async Task<Result<Response>> Execute(IStoreSession s, Tenant tenant, DateTimeOffset now, Request r)
    {
        if (r.Code is null) return KassaError.Missing("code");
        if (r.ProductId is null) return KassaError.Missing("product_id");
        if (r.Amount is null) return KassaError.Missing("amount");
        var errors = new List<FieldError>();
        if (Rules.Text(r.Code, 64, allowEmpty: false) is { } c) errors.Add(new FieldError("code", c));
        if (Rules.Slug(r.ProductId) is { } p) errors.Add(new FieldError("product_id", p));
        if (r.Amount is < 0 or > Invoices.InvoiceRules.AmountMax) errors.Add(new FieldError("amount", $"must be from 0 to {Invoices.InvoiceRules.AmountMax} minor units"));
        if (r.CustomerId is not null && Rules.Text(r.CustomerId, Rules.CustomerIdLengthMax, allowEmpty: false) is { } cu) errors.Add(new FieldError("customer_id", cu));
        string? currency = null;
        if (r.Currency is not null)
        {
            if (Currencies.TryGet(r.Currency, out var cur)) currency = cur.Code;
            else errors.Add(new FieldError("currency", "must be a supported ISO 4217 currency code such as usd"));
        }
        if (errors.Count > 0) return KassaError.Validation(errors);

        var amount = r.Amount.Value;
        var coupon = await s.Coupons.FindByCodeAsync(tenant, CouponWords.Normalize(r.Code));
        if (coupon is null) return new Response(false, 0, amount, "not_found", null);
        var quote = Kassa.Core.Invoicing.Coupons.Quote(CouponWords.Terms(coupon), coupon.TimesRedeemed, r.ProductId, amount,
            currency ?? coupon.Currency ?? "", now);
        return new Response(quote.Valid, quote.DiscountMinor, quote.FinalMinor, quote.Reason, coupon.Id);
    }
}
