using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary>
/// <c>GET /v1/ledger/entries?customer_id=&amp;from=&amp;to=</c>: journal entries with their lines, newest
/// first, in the half-open range <c>[from, to)</c>.
/// </summary>
public static class ListLedgerEntries
{
    public static async Task<Result<Page<LedgerEntryResource>>> Execute(IStoreSession s, Tenant tenant, LedgerFilter filter, PageRequest page)
    {
        var rows = await s.Ledger.ListAsync(tenant, filter, page.After, page.Limit + 1);
        return page.Build(rows, e => new Cursor(Micros.From(e.OccurredAt), e.Id), LedgerEntryResource.From);
    }
}
