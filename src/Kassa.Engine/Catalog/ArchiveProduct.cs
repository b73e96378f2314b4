using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary>
/// <c>POST /v1/products/{id}/archive</c>: the product leaves the pricing table and can no longer be
/// attached; existing subscriptions continue. Archiving twice answers the archived product again.
/// </summary>
public static class ArchiveProduct
{
    public static async Task<Result<ProductResource>> Execute(IStoreSession session, OperationContext op, string id)
    {
        var product = await session.Catalog.GetProductAsync(op.Tenant, id, forUpdate: true);
        if (product is null) return KassaError.NotFound("product", id);
        var version = (await session.Catalog.GetVersionAsync(op.Tenant, id, product.Version))!;
        if (product.ArchivedAt is not null) return ProductResource.From(product, version);
        var archived = product with { ArchivedAt = op.Now, UpdatedAt = op.Now };
        await session.Catalog.UpdateProductAsync(archived);
        var resource = ProductResource.From(archived, version);
        await RecordAudit.Execute(session, op, "product.archived", "product", id, ["archived"]);
        await EmitEvent.Execute(session, op, EventTypes.ProductArchived, "product", id, resource, new Dictionary<string, object?> { ["archived"] = false });
        return resource;
    }
}
