using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary><c>GET /v1/payments?customer_id=</c>: newest first.</summary>
public static class ListPayments
{
    public static async Task<Result<Page<PaymentResource>>> Execute(IStoreSession s, Tenant tenant, string? customerId, PageRequest page)
    {
        if (customerId is not null && Rules.Text(customerId, Rules.CustomerIdLengthMax) is { } c) return KassaError.Validation("customer_id", c);
        var rows = await s.Payments.ListPaymentsAsync(tenant, customerId, page.After, page.Limit + 1);
        var disputes = await s.Disputes.LatestOfPaymentsAsync(tenant, [.. rows.Select(p => p.Id)]);
        return page.Build(rows, p => new Cursor(Micros.From(p.CreatedAt), p.Id), p => PaymentResource.From(p) with { DisputeId = disputes.GetValueOrDefault(p.Id) });
    }
}
