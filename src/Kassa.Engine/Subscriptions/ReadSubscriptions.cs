using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary><c>GET /v1/subscriptions/{id}</c> and <c>GET /v1/subscriptions?customer_id=&amp;status=</c> (newest first, cursor paging).</summary>
public static class ReadSubscriptions
{
    public static async Task<Result<SubscriptionResource>> Get(IStoreSession s, Tenant tenant, string id) =>
        await s.Subscriptions.GetAsync(tenant, id) is { } sub ? SubscriptionResource.From(sub) : KassaError.NotFound("subscription", id);

    public static async Task<Result<Page<SubscriptionResource>>> List(IStoreSession s, Tenant tenant, string? customerId, string? status, PageRequest page)
    {
        if (customerId is not null && Rules.Text(customerId, Rules.CustomerIdLengthMax) is { } c) return KassaError.Validation("customer_id", c);
        if (status is not null && !SubscriptionStatus.All.Contains(status))
            return KassaError.Validation("status", $"must be one of {string.Join(", ", SubscriptionStatus.All)}");
        var rows = await s.Subscriptions.ListAsync(tenant, new SubscriptionFilter(customerId, status), page.After, page.Limit + 1);
        return page.Build(rows, r => new Cursor(Micros.From(r.CreatedAt), r.Id), SubscriptionResource.From);
    }
}
