using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Invoicing;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Coupons;

/// <summary>
/// Redeems a coupon by code for a customer's product (at subscribe): checks expiry, redemptions left,
/// product restriction and currency, counts the redemption and links it to the subscription so the
/// subscription's invoices are discounted for the coupon's duration. CONTRACT STUB: implemented by
/// the coupons work.
/// </summary>
/// <remarks>
/// The coupon row is locked for the rest of the caller's transaction (PostgreSQL <c>FOR UPDATE</c>;
/// SQLite has one writer), so concurrent redemptions count one after the other and
/// <c>max_redemptions</c> holds exactly. A refusal is <c>400 validation_failed</c> on <c>coupon</c>
/// with the quote's reason in the message; an unknown code is <c>404</c>.
/// </remarks>
public static class RedeemCoupon
{
    public static async Task<Result<CouponTerms>> Execute(IStoreSession s, OperationContext op, string code, string customerId, string productId, string currency, string? subscriptionId)
    {
        var redeemed = await RedeemAsync(s, op, code, customerId, productId, currency, subscriptionId, invoiceId: null);
        return redeemed.IsOk ? CouponWords.Terms(redeemed.Value) : Result<CouponTerms>.Fail(redeemed.Error!);
    }

    /// <summary>
    /// The redemption itself, answering the stored coupon (after the count). <paramref name="productId"/>
    /// null skips the product check: a manual invoice applies a restricted coupon to the matching lines only.
    /// </summary>
    public static async Task<Result<CouponRecord>> RedeemAsync(IStoreSession s, OperationContext op, string code, string customerId, string? productId,
        string currency, string? subscriptionId, string? invoiceId)
    {
        var coupon = await s.Coupons.FindByCodeAsync(op.Tenant, CouponWords.Normalize(code), forUpdate: true);
        if (coupon is null) return KassaError.NotFound("coupon", code) with { Param = "coupon" };
        var terms = CouponWords.Terms(coupon);
        if (productId is null && terms.ProductIds is { Count: > 0 } ids) productId = ids.First();
        var quote = Kassa.Core.Invoicing.Coupons.Quote(terms, coupon.TimesRedeemed, productId ?? "", 0, currency, op.Now);
        if (!quote.Valid) return KassaError.Validation("coupon", $"cannot be redeemed: {quote.Reason}") with
        {
            Details = [new FieldError("coupon", quote.Reason!)],
        };
        var counted = coupon with { TimesRedeemed = coupon.TimesRedeemed + 1 };
        await s.Coupons.UpdateAsync(counted);
        await s.Coupons.InsertRedemptionAsync(new CouponRedemptionRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.CouponRedemption),
            coupon.Id, customerId, subscriptionId, invoiceId, 0, op.Now));
        return counted;
    }
}
