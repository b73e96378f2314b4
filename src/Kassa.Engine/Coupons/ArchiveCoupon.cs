using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Coupons;

/// <summary>
/// <c>POST /v1/coupons/{id}/archive</c>: the code stops applying to new invoices and redemptions.
/// Subscriptions that already redeemed it keep their discount for its duration (the customer was
/// promised it). Archiving twice answers the coupon unchanged.
/// </summary>
public static class ArchiveCoupon
{
    public static async Task<Result<CouponResource>> Execute(IStoreSession s, OperationContext op, string id)
    {
        var coupon = await s.Coupons.GetAsync(op.Tenant, id, forUpdate: true);
        if (coupon is null) return KassaError.NotFound("coupon", id);
        if (coupon.ArchivedAt is not null) return CouponResource.From(coupon);
        var archived = coupon with { ArchivedAt = op.Now };
        await s.Coupons.UpdateAsync(archived);
        await RecordAudit.Execute(s, op, "coupon.archived", "coupon", id, ["archived_at"]);
        return CouponResource.From(archived);
    }
}
