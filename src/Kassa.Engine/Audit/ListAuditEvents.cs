using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Audit;

/// <summary><c>GET /v1/audit_events</c>: mutations newest first, filtered by object, actor and time.</summary>
public static class ListAuditEvents
{
    public static async Task<Result<Page<AuditEventResource>>> Execute(IStoreSession session, Tenant tenant, AuditFilter filter, PageRequest page)
    {
        if (filter.From is { } from && filter.To is { } to && from > to)
            return KassaError.Validation("from", "must not be after to");
        var rows = await session.Audit.ListAsync(tenant, filter, page.After, page.Limit + 1);
        return page.Build(rows, a => new Cursor(Micros.From(a.CreatedAt), a.Id), AuditEventResource.From);
    }
}
