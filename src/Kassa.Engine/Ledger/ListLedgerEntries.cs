using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary><c>GET /v1/ledger/entries?customer_id=</c>: journal entries with their lines, newest first.</summary>
public static class ListLedgerEntries
{
    public static async Task<Result<Page<LedgerEntryResource>>> Execute(IStoreSession s, Tenant tenant, string? customerId, PageRequest page)
    {
        if (customerId is not null && Rules.Text(customerId, Rules.CustomerIdLengthMax) is { } c) return KassaError.Validation("customer_id", c);
        var rows = await s.Ledger.ListAsync(tenant, customerId, page.After, page.Limit + 1);
        return page.Build(rows, e => new Cursor(Micros.From(e.OccurredAt), e.Id), LedgerEntryResource.From);
    }
}
