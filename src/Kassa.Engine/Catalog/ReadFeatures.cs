using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary><c>GET /v1/features/{id}</c>.</summary>
public static class GetFeature
{
    public static async Task<Result<FeatureResource>> Execute(IStoreSession session, Tenant tenant, string id) =>
        await session.Catalog.GetFeatureAsync(tenant, id) is { } f ? FeatureResource.From(f) : KassaError.NotFound("feature", id);
}

/// <summary><c>GET /v1/features</c>: newest first, archived included (marked).</summary>
public static class ListFeatures
{
    public static async Task<Result<Page<FeatureResource>>> Execute(IStoreSession session, Tenant tenant, PageRequest page)
    {
        var rows = await session.Catalog.ListFeaturesAsync(tenant, page.After, page.Limit + 1);
        return page.Build(rows, f => new Cursor(Micros.From(f.CreatedAt), f.Id), FeatureResource.From);
    }
}
