using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ApiKeys;

/// <summary><c>GET /v1/api_keys</c>: the keys of the caller's account and mode, masked, newest first.</summary>
public static class ListApiKeys
{
    public static async Task<Result<Page<ApiKeyResource>>> Execute(IStoreSession session, Tenant tenant, PageRequest page)
    {
        var rows = await session.ApiKeys.ListAsync(tenant, page.After, page.Limit + 1);
        return page.Build(rows, k => new Cursor(Micros.From(k.CreatedAt), k.Id), ApiKeyResource.From);
    }
}
