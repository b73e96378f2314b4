using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Disputes;

/// <summary><c>GET /v1/disputes?payment_id=</c>: newest first.</summary>
public static class ListDisputes
{
    /// <summary>Payment ids are Kassa ids (<c>pay_</c> + 26 characters); a longer filter is refused before any work.</summary>
    private const int PaymentIdLengthMax = 64;

    public static async Task<Result<Page<DisputeResource>>> Execute(IStoreSession s, Tenant tenant, string? paymentId, PageRequest page)
    {
        if (paymentId is not null && (paymentId.Length is 0 or > PaymentIdLengthMax))
            return KassaError.Validation("payment_id", $"must be a payment id of 1 to {PaymentIdLengthMax} characters");
        var rows = await s.Disputes.ListAsync(tenant, paymentId, page.After, page.Limit + 1);
        return page.Build(rows, d => new Cursor(Micros.From(d.CreatedAt), d.Id), DisputeResource.From);
    }
}
