using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Checkout;

/// <summary>
/// <c>GET /v1/checkout_sessions?customer_id=</c>: newest first, paged. A list shows the stored status: a
/// session past its expiry that nobody has read since shows <c>open</c> until the expiry worker's next round
/// (within a minute) or a read of the session itself.
/// </summary>
public static class ListCheckoutSessions
{
    public static async Task<Result<Page<CheckoutSessionResource>>> Execute(IStoreSession s, Tenant tenant, string? customerId, PageRequest page)
    {
        if (customerId is not null && Rules.Text(customerId, Rules.CustomerIdLengthMax) is { } c) return KassaError.Validation("customer_id", c);
        var rows = await s.Checkout.ListAsync(tenant, customerId, page.After, page.Limit + 1);
        return page.Build(rows, r => new Cursor(Micros.From(r.CreatedAt), r.Id), CheckoutSessionResource.From);
    }
}
