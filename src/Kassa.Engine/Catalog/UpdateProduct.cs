using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary>
/// <c>POST /v1/products/{id}</c>: updates a product. Changing prices or features of a version that
/// has subscriptions makes version n+1 (existing subscriptions stay on theirs); without subscribers
/// the current version is changed in place. Fields absent from the body are left alone. A product has at
/// most <see cref="ListProductVersions.VersionsMax"/> versions: the change that would make one more is
/// refused with <c>409 limit_reached</c>, and so is turning <c>auto_enable</c> on past its bound.
/// </summary>
public static class UpdateProduct
{
    public sealed record Request(
        Optional<string> Name, Optional<string> Group, Optional<bool?> IsAddOn, Optional<bool?> AutoEnable, Optional<FreeTrial> FreeTrial,
        Optional<List<Price>> Prices, Optional<List<ProductFeature>> Features, Optional<Dictionary<string, string>> Metadata);

    public static async Task<Result<ProductResource>> Execute(IStoreSession session, OperationContext op, string id, Request request)
    {
        var errors = new List<FieldError>();
        if (request.Name.IsSet) CatalogRules.Name(request.Name.Value, "name", errors);
        foreach (var (set, value, field) in new[] { (request.IsAddOn.IsSet, request.IsAddOn.Value, "is_add_on"), (request.AutoEnable.IsSet, request.AutoEnable.Value, "auto_enable") })
            if (set && value is null) errors.Add(new FieldError(field, "must be true or false"));
        ProductInput.Check(request.Group.Value, request.FreeTrial.Value, request.Metadata.Value, errors);
        if (errors.Count > 0) return KassaError.Validation(errors);

        var product = await session.Catalog.GetProductAsync(op.Tenant, id, forUpdate: true);
        if (product is null) return KassaError.NotFound("product", id);
        if (product.ArchivedAt is not null) return KassaError.InvalidState($"Product '{id}' is archived");
        if (request.AutoEnable.Value == true && !product.AutoEnable && await AutoEnableLimit.CheckRoomForOneMore(session, op.Tenant) is { } full) return full;
        var current = (await session.Catalog.GetVersionAsync(op.Tenant, id, product.Version))!;

        var version = current;
        var newVersion = false;
        if (request.Prices.IsSet || request.Features.IsSet)
        {
            var definition = await ProductInput.Definition(session, op.Tenant, request.Prices.Value ?? current.Prices.ToList(),
                request.Features.Value ?? current.Features.ToList(), errors);
            if (errors.Count > 0 || definition is null) return KassaError.Validation(errors);
            var prices = ProductInput.WithIds(definition.Value.Prices, current.Prices, op);
            var changed = !prices.SequenceEqual(current.Prices) || !definition.Value.Features.SequenceEqual(current.Features);
            if (changed)
            {
                if (await session.Catalog.HasSubscriptionsAsync(op.Tenant, id, current.Version))
                {
                    // Versions are numbered 1, 2, … without gaps, so the current number is the count. The versions
                    // list reads at most the bound; a version past it would be silently left out of it.
                    if (current.Version >= ListProductVersions.VersionsMax)
                        return new KassaError(ErrorCodes.LimitReached,
                            $"Product '{id}' already has {ListProductVersions.VersionsMax} versions, the most allowed; create a new product instead", "id");
                    version = new ProductVersionRecord(product.AccountId, product.Livemode, id, current.Version + 1, prices, definition.Value.Features, op.Now);
                    await session.Catalog.InsertVersionAsync(version);
                    newVersion = true;
                }
                else
                {
                    version = current with { Prices = prices, Features = definition.Value.Features };
                    await session.Catalog.ReplaceVersionAsync(version);
                }
            }
        }

        var updated = product with
        {
            Name = request.Name.Value ?? product.Name,
            Group = request.Group.Or(product.Group),
            IsAddOn = request.IsAddOn.Value ?? product.IsAddOn,
            AutoEnable = request.AutoEnable.Value ?? product.AutoEnable,
            FreeTrial = request.FreeTrial.Or(product.FreeTrial),
            Metadata = request.Metadata.IsSet ? request.Metadata.Value ?? [] : product.Metadata,
            Version = version.Version,
        };
        var previous = new Dictionary<string, object?>();
        if (updated.Name != product.Name) previous["name"] = product.Name;
        if (updated.Group != product.Group) previous["group"] = product.Group;
        if (updated.IsAddOn != product.IsAddOn) previous["is_add_on"] = product.IsAddOn;
        if (updated.AutoEnable != product.AutoEnable) previous["auto_enable"] = product.AutoEnable;
        if (updated.FreeTrial != product.FreeTrial) previous["free_trial"] = product.FreeTrial;
        if (!updated.Metadata.OrderBy(k => k.Key).SequenceEqual(product.Metadata.OrderBy(k => k.Key))) previous["metadata"] = product.Metadata;
        if (!ReferenceEquals(version, current))
        {
            previous["prices"] = current.Prices;
            previous["features"] = current.Features;
            if (newVersion) previous["version"] = current.Version;
        }
        if (previous.Count == 0) return ProductResource.From(product, current);

        updated = updated with { UpdatedAt = op.Now };
        await session.Catalog.UpdateProductAsync(updated);
        var resource = ProductResource.From(updated, version);
        await RecordAudit.Execute(session, op, "product.updated", "product", id, [.. previous.Keys]);
        await EmitEvent.Execute(session, op, newVersion ? EventTypes.ProductVersionCreated : EventTypes.ProductUpdated, "product", id, resource, previous);
        return resource;
    }
}
