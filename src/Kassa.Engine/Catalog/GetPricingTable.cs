using System.Globalization;
using System.Text.Json.Serialization;
using Kassa.Core.Errors;
using Kassa.Core.Money;
using Kassa.Core.Pricing;
using Kassa.Engine.Common;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

public sealed record PricingTablePrice(string Id, string Type, string Display, string Currency, long? Amount, string? Interval, int? IntervalCount, string? FeatureId);

public sealed record PricingTableFeature(string FeatureId, string Name, string Type, string Display);

/// <summary>One product as a pricing page shows it.</summary>
public sealed record PricingTableItem(
    string ProductId, string Name, string? Group, bool IsAddOn, FreeTrial? FreeTrial, int Version,
    IReadOnlyList<PricingTablePrice> Prices, IReadOnlyList<PricingTableFeature> Features, string? Scenario)
{
    [JsonPropertyOrder(-1)] public string Object => "pricing_table_item";
}

/// <summary>
/// <c>GET /v1/pricing_table?customer_id=</c>: the active products with prices formatted in their
/// currency, and with a customer, what attaching each would be for them: <c>active</c>,
/// <c>scheduled</c>, <c>upgrade</c>, <c>downgrade</c> or <c>new</c>.
/// </summary>
public static class GetPricingTable
{
    /// <summary>
    /// Active products the pricing table shows. Its scenarios compare a product with the others of its
    /// group, so it is answered whole or not at all: past the bound it is refused with
    /// <c>limit_reached</c> rather than silently leaving the oldest products out.
    /// </summary>
    public const int ProductsMax = 100;
    public const int SubscriptionsMax = 100;

    public static async Task<Result<ListResource<PricingTableItem>>> Execute(IStoreSession session, Tenant tenant, string? customerId)
    {
        IReadOnlyList<SubscriptionSummary>? subscriptions = null;
        if (customerId is not null)
        {
            var customer = await session.Customers.GetAsync(tenant, customerId);
            if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
            subscriptions = await session.Catalog.LiveSubscriptionsAsync(tenant, customerId, SubscriptionsMax);
        }
        // One past the bound tells a table at the bound from one past it.
        var products = (await session.Catalog.ListProductsAsync(tenant, false, null, ProductsMax + 1)).Reverse().ToList();
        if (products.Count > ProductsMax)
            return new KassaError(ErrorCodes.LimitReached,
                $"The pricing table shows at most {ProductsMax} active products and this account has more; archive the products it should not show");
        var versions = new Dictionary<string, ProductVersionRecord>();
        foreach (var p in products) versions[p.Id] = (await session.Catalog.GetVersionAsync(tenant, p.Id, p.Version))!;
        var featureIds = versions.Values.SelectMany(v => v.Features.Select(f => f.FeatureId!).Concat(v.Prices.Select(x => x.FeatureId).OfType<string>())).ToHashSet();
        var features = (await session.Catalog.GetFeaturesAsync(tenant, featureIds)).ToDictionary(f => f.Id);

        var items = new List<PricingTableItem>();
        foreach (var p in products)
        {
            var v = versions[p.Id];
            var prices = v.Prices.Select(price => new PricingTablePrice(price.Id!, price.Type!, Display(price, features), price.Currency!, price.Amount,
                price.Interval, price.IntervalCount, price.FeatureId)).ToList();
            var granted = v.Features.Select(f => features.TryGetValue(f.FeatureId!, out var feature)
                ? new PricingTableFeature(f.FeatureId!, feature.Name, feature.Type, Display(f, feature, features))
                : new PricingTableFeature(f.FeatureId!, f.FeatureId!, "metered", f.FeatureId!)).ToList();
            var scenario = subscriptions is null ? null : Scenario(p, v, subscriptions, products, versions);
            items.Add(new PricingTableItem(p.Id, p.Name, p.Group, p.IsAddOn, p.FreeTrial, v.Version, prices, granted, scenario));
        }
        return new ListResource<PricingTableItem>(items, false, null);
    }

    private static string Display(Price price, IReadOnlyDictionary<string, FeatureRecord> features)
    {
        var currency = Currencies.Get(price.Currency!);
        return price.Type switch
        {
            "recurring" => PriceDisplay.Recurring(price.Amount ?? 0, currency, price.Interval!, price.IntervalCount ?? 1),
            "one_time" => PriceDisplay.OneTime(price.Amount ?? 0, currency),
            _ => PriceDisplay.Usage(CatalogRules.ToUsagePrice(price)!, currency, UnitName(price.FeatureId!, features)),
        };
    }

    private static string UnitName(string featureId, IReadOnlyDictionary<string, FeatureRecord> features) =>
        features.TryGetValue(featureId, out var f) && f.Unit is { Length: > 0 } unit ? unit : featureId;

    /// <summary>"10,000 api_calls / month", "Unlimited api_calls", "100 ai_messages per seats / month", or the name of a boolean feature.</summary>
    private static string Display(ProductFeature pf, FeatureRecord feature, IReadOnlyDictionary<string, FeatureRecord> features)
    {
        if (feature.Type == "boolean") return feature.Name;
        var unit = UnitName(feature.Id, features);
        var amount = pf.Included is { Unlimited: true } ? $"Unlimited {unit}" : $"{(pf.Included?.Amount ?? 0).ToString("#,0.######", CultureInfo.InvariantCulture)} {unit}";
        if (pf.PerEntity is { } entity) amount += $" per {UnitName(entity, features)}";
        return pf.Reset is null or "never" || pf.Included is { Unlimited: true } ? amount : $"{amount} / {pf.Reset}";
    }

    private static string Scenario(ProductRecord p, ProductVersionRecord v, IReadOnlyList<SubscriptionSummary> subscriptions,
        IReadOnlyList<ProductRecord> products, IReadOnlyDictionary<string, ProductVersionRecord> versions)
    {
        if (subscriptions.Any(s => s.ScheduledProductId == p.Id || (s.ProductId == p.Id && s.Status == "scheduled"))) return "scheduled";
        if (subscriptions.Any(s => s.ProductId == p.Id)) return "active";
        if (p.IsAddOn || p.Group is null) return "new";
        var current = subscriptions.Select(s => products.FirstOrDefault(x => x.Id == s.ProductId))
            .FirstOrDefault(x => x is not null && !x.IsAddOn && x.Group == p.Group);
        if (current is null) return "new";
        return RecurringAmount(v) >= RecurringAmount(versions[current.Id]) ? "upgrade" : "downgrade";
    }

    private static long RecurringAmount(ProductVersionRecord v) => v.Prices.FirstOrDefault(x => x.Type == "recurring")?.Amount ?? 0;
}
