using Kassa.Core.Errors;
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
public static class RedeemCoupon
{
    public static Task<Result<CouponTerms>> Execute(IStoreSession s, OperationContext op, string code, string customerId, string productId, string currency, string? subscriptionId) =>
        throw new NotImplementedException();
}
