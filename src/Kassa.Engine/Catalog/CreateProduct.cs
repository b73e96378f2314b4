using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary>
/// <c>POST /v1/products</c>: a product and its version 1 of prices and features. With <c>auto_enable</c>
/// it is refused with <c>409 limit_reached</c> past <see cref="AutoEnableLimit.ProductsMax"/> such products.
/// </summary>
public static class CreateProduct
{
    public sealed record Request(
        string? Id, string? Name, string? Group, bool? IsAddOn, bool? AutoEnable, FreeTrial? FreeTrial,
        List<Price>? Prices, List<ProductFeature>? Features, Dictionary<string, string>? Metadata);

    public static async Task<Result<ProductResource>> Execute(IStoreSession session, OperationContext op, Request request)
    {
        if (request.Id is null) return KassaError.Missing("id");
        var errors = new List<FieldError>();
        if (Rules.Slug(request.Id) is { } slug) errors.Add(new FieldError("id", slug));
        CatalogRules.Name(request.Name, "name", errors);
        ProductInput.Check(request.Group, request.FreeTrial, request.Metadata, errors);
        var definition = await ProductInput.Definition(session, op.Tenant, request.Prices ?? [], request.Features ?? [], errors);
        if (errors.Count > 0 || definition is null) return KassaError.Validation(errors);
        if (request.AutoEnable == true && await AutoEnableLimit.CheckRoomForOneMore(session, op.Tenant) is { } full) return full;

        var product = new ProductRecord(op.Tenant.AccountId, op.Tenant.Livemode, request.Id, request.Name!, request.Group, request.IsAddOn ?? false,
            request.AutoEnable ?? false, request.FreeTrial, 1, request.Metadata ?? [], null, op.Now, op.Now);
        if (!await session.Catalog.TryInsertProductAsync(product))
            return new KassaError(ErrorCodes.AlreadyExists, $"A product with id '{request.Id}' already exists", "id");
        var version = new ProductVersionRecord(op.Tenant.AccountId, op.Tenant.Livemode, product.Id, 1,
            ProductInput.WithIds(definition.Value.Prices, [], op), definition.Value.Features, op.Now);
        await session.Catalog.InsertVersionAsync(version);
        var resource = ProductResource.From(product, version);
        await RecordAudit.Execute(session, op, "product.created", "product", product.Id, ["name", "prices", "features"]);
        await EmitEvent.Execute(session, op, EventTypes.ProductCreated, "product", product.Id, resource);
        return resource;
    }
}
