using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary><c>GET /v1/products/{id}</c>: the product with its current version.</summary>
public static class GetProduct
{
    public static async Task<Result<ProductResource>> Execute(IStoreSession session, Tenant tenant, string id)
    {
        var product = await session.Catalog.GetProductAsync(tenant, id);
        if (product is null) return KassaError.NotFound("product", id);
        return ProductResource.From(product, (await session.Catalog.GetVersionAsync(tenant, id, product.Version))!);
    }
}

/// <summary><c>GET /v1/products</c>: newest first; archived ones only with <c>include_archived=true</c>.</summary>
public static class ListProducts
{
    public static async Task<Result<Page<ProductResource>>> Execute(IStoreSession session, Tenant tenant, bool includeArchived, PageRequest page)
    {
        var rows = await session.Catalog.ListProductsAsync(tenant, includeArchived, page.After, page.Limit + 1);
        var versions = new Dictionary<string, ProductVersionRecord>();
        foreach (var p in rows.Take(page.Limit)) versions[p.Id] = (await session.Catalog.GetVersionAsync(tenant, p.Id, p.Version))!;
        return page.Build(rows, p => new Cursor(Micros.From(p.CreatedAt), p.Id), p => ProductResource.From(p, versions[p.Id]));
    }
}

/// <summary><c>GET /v1/products/{id}/versions</c>: every version, newest first.</summary>
public static class ListProductVersions
{
    /// <summary>
    /// Versions a product may have. <see cref="UpdateProduct"/> refuses the change that would make one
    /// more with <c>limit_reached</c>, so this list, read up to the bound, is always complete.
    /// </summary>
    public const int VersionsMax = 1_000;

    public static async Task<Result<Kassa.Engine.Resources.ListResource<ProductVersionResource>>> Execute(IStoreSession session, Tenant tenant, string id)
    {
        var product = await session.Catalog.GetProductAsync(tenant, id);
        if (product is null) return KassaError.NotFound("product", id);
        var versions = await session.Catalog.ListVersionsAsync(tenant, id, VersionsMax);
        return new Kassa.Engine.Resources.ListResource<ProductVersionResource>(
            versions.Select(v => new ProductVersionResource(id, v.Version, v.Prices, v.Features, v.Version == product.Version, v.CreatedAt)).ToList(), false, null);
    }
}
