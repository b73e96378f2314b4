using System.Text.Json.Serialization;
using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// <c>POST /v1/subscribe</c> for products that charge nothing up front (free, or only usage billed in
/// arrears): the subscription is active at once and its balances are granted in the same
/// transaction. Products with a fixed or prepaid price need checkout and payments, which arrive with
/// their own capability; until then they are refused with <c>invalid_state</c>. A customer has at most
/// <see cref="Catalog.GetPricingTable.SubscriptionsMax"/> live subscriptions; one more is refused with
/// <c>409 limit_reached</c>.
/// </summary>
public static class Subscribe
{
    public const long QuantityMax = 1_000_000;

    public sealed record Request(string? CustomerId, string? ProductId, long? Quantity);

    public sealed record SubscriptionRef(string Id, string CustomerId, string ProductId, int ProductVersion, string Status, long Quantity)
    {
        [JsonPropertyOrder(-1)] public string Object => "subscription";
    }

    public sealed record Response(string Status, SubscriptionRef Subscription, object? Invoice, string? CheckoutUrl, object? RequiredAction);

    public static async Task<Result<Response>> Execute(IStoreSession s, OperationContext op, Request request)
    {
        if (request.CustomerId is null) return KassaError.Missing("customer_id");
        if (request.ProductId is null) return KassaError.Missing("product_id");
        var quantity = request.Quantity ?? 1;
        if (quantity < 1 || quantity > QuantityMax) return KassaError.Validation("quantity", $"must be from 1 to {QuantityMax}");
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, request.CustomerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", request.CustomerId) with { Param = "customer_id" };
        var product = await s.Catalog.GetProductAsync(op.Tenant, request.ProductId);
        if (product is null) return KassaError.NotFound("product", request.ProductId) with { Param = "product_id" };
        if (product.ArchivedAt is not null) return KassaError.InvalidState($"Product '{product.Id}' is archived and cannot be attached");
        var version = (await s.Catalog.GetVersionAsync(op.Tenant, product.Id, product.Version))!;
        if (!AttachProduct.ChargesNothingUpFront(version))
            return KassaError.InvalidState($"Product '{product.Id}' has a price charged up front; paid subscriptions need checkout and payments, which this server does not offer yet");
        var live = await s.Catalog.LiveSubscriptionsAsync(op.Tenant, customer.Id, Catalog.GetPricingTable.SubscriptionsMax);
        if (live.Any(x => x.ProductId == product.Id)) return KassaError.InvalidState($"Customer '{customer.Id}' already has product '{product.Id}'");
        if (!product.IsAddOn && product.Group is not null)
        {
            foreach (var other in live)
            {
                var otherProduct = await s.Catalog.GetProductAsync(op.Tenant, other.ProductId);
                if (otherProduct is { IsAddOn: false } && otherProduct.Group == product.Group)
                    return KassaError.InvalidState($"Customer '{customer.Id}' has '{otherProduct.Id}' in group '{product.Group}'; switching plans arrives with paid subscriptions");
            }
        }
        // The customer row is locked, so live subscriptions cannot grow behind this count. Everything that
        // reads them (this method, the pricing table, entity grants) reads at most the bound; one more would
        // be silently ignored there, so it is refused here. New customers start with at most
        // AutoEnableLimit.ProductsMax, which is below this bound.
        if (live.Count >= Catalog.GetPricingTable.SubscriptionsMax)
            return new KassaError(ErrorCodes.LimitReached,
                $"Customer '{customer.Id}' already has {Catalog.GetPricingTable.SubscriptionsMax} live subscriptions, the most allowed", "customer_id");
        var attached = await AttachProduct.Execute(s, op, customer.Id, product, version, quantity);
        if (!attached.IsOk) return attached.Error!;
        await RecordAudit.Execute(s, op, "subscription.created", "subscription", attached.Value, ["customer_id", "product_id", "quantity"]);
        return new Response("active", new SubscriptionRef(attached.Value, customer.Id, product.Id, version.Version, "active", quantity), null, null, null);
    }
}
