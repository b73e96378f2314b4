using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary>
/// The bound on a tenant's active <c>auto_enable</c> products, checked where one is added (a product
/// created with it, or updated to it). New customers get the products of a read bounded by the same
/// number, so letting one more in would make it silently not attached.
/// </summary>
public static class AutoEnableLimit
{
    /// <summary>
    /// Active <c>auto_enable</c> products a tenant may have; creating or updating a product to
    /// <c>auto_enable</c> past it is refused with <c>limit_reached</c>, so the bounded read that attaches
    /// them to a new customer always holds every one.
    /// </summary>
    public const int ProductsMax = 20;

    public const string LockName = "auto_enable_products";

    /// <returns><c>limit_reached</c> when the tenant already has the maximum of auto_enable products, else null.</returns>
    public static async Task<KassaError?> CheckRoomForOneMore(IStoreSession session, Tenant tenant)
    {
        // Held to the end of the transaction: two concurrent writers cannot both take the last place.
        await session.Accounts.LockLimitAsync(tenant, LockName);
        var products = await session.Catalog.AutoEnableProductsAsync(tenant, ProductsMax);
        return products.Count < ProductsMax
            ? null
            : new KassaError(ErrorCodes.LimitReached,
                $"This account already has {ProductsMax} auto_enable products, the most allowed; archive one or turn its auto_enable off first",
                "auto_enable");
    }
}
