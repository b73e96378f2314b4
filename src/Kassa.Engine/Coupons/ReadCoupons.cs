using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Coupons;

/// <summary><c>GET /v1/coupons/{id}</c>.</summary>
public static class GetCoupon
{
    public static async Task<Result<CouponResource>> Execute(IStoreSession s, Tenant tenant, string id) =>
        await s.Coupons.GetAsync(tenant, id) is { } c ? CouponResource.From(c) : KassaError.NotFound("coupon", id);
}

/// <summary><c>GET /v1/coupons</c>: newest first.</summary>
public static class ListCoupons
{
    public static async Task<Result<Page<CouponResource>>> Execute(IStoreSession s, Tenant tenant, PageRequest page)
    {
        var rows = await s.Coupons.ListAsync(tenant, page.After, page.Limit + 1);
        return page.Build(rows, c => new Cursor(Micros.From(c.CreatedAt), c.Id), CouponResource.From);
    }
}
