using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Money;
using Kassa.Core.Pricing;
using Kassa.Core.Validation;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary>
/// The catalog's rules (spec §3). Every violation names its field (<c>prices[1].tiers[0].up_to</c>),
/// and all of them are reported at once. Valid input comes back with defaults filled in.
/// </summary>
public static class CatalogRules
{
    public const int PricesMax = 20;
    public const int FeaturesMax = 100;
    public const int CreditSchemaMax = 100;
    public const int QuantityFractionDigitsMax = 6;
    public static readonly IReadOnlySet<string> FeatureTypes = new HashSet<string> { "boolean", "metered", "credit_system" };
    public static readonly IReadOnlySet<string> Intervals = new HashSet<string> { "day", "week", "month", "year" };
    public static readonly IReadOnlySet<string> Resets = new HashSet<string> { "hour", "day", "week", "month", "year", "never" };
    public static readonly IReadOnlySet<string> Overages = new HashSet<string> { "blocked", "billed", "allowed" };
    public static readonly IReadOnlySet<string> Billings = new HashSet<string> { "in_arrears", "prepaid" };

    /// <summary>
    /// A quantity a balance can hold exactly: non-negative, at most 6 fractional digits, and within the
    /// one quantity bound (<see cref="Micro.MaxUnits"/>) that grants, check, track and adjust use too —
    /// so an <c>included</c> or <c>rollover.max</c> the catalog accepts always converts to a balance.
    /// </summary>
    public static string? Quantity(decimal value) => Micro.Problem(value, allowZero: true, allowNegative: false, out _);

    public static void CreditSchema(IReadOnlyList<CreditSchemaEntry>? schema, IReadOnlyDictionary<string, FeatureRecord> known, string selfId, List<FieldError> errors)
    {
        if (schema is null || schema.Count == 0)
        {
            errors.Add(new FieldError("credit_schema", "is required for a credit_system feature and must name at least one feature"));
            return;
        }
        if (schema.Count > CreditSchemaMax) errors.Add(new FieldError("credit_schema", $"may have at most {CreditSchemaMax} entries"));
        var seen = new HashSet<string>();
        for (var i = 0; i < Math.Min(schema.Count, CreditSchemaMax); i++)
        {
            var field = $"credit_schema[{i}]";
            var entry = schema[i];
            if (entry.FeatureId is null) errors.Add(new FieldError($"{field}.feature_id", "is required"));
            else if (!known.TryGetValue(entry.FeatureId, out var f) || f.ArchivedAt is not null)
                errors.Add(new FieldError($"{field}.feature_id", $"no active feature '{entry.FeatureId}' exists"));
            else if (f.Type != "metered" || f.Id == selfId)
                errors.Add(new FieldError($"{field}.feature_id", "must be a metered feature"));
            else if (!seen.Add(entry.FeatureId))
                errors.Add(new FieldError($"{field}.feature_id", "appears twice"));
            if (entry.CreditCost is not { } cost) errors.Add(new FieldError($"{field}.credit_cost", "is required"));
            else if (cost <= 0) errors.Add(new FieldError($"{field}.credit_cost", "must be greater than zero"));
            else if (Quantity(cost) is { } q) errors.Add(new FieldError($"{field}.credit_cost", q));
        }
    }

    /// <summary>The feature ids a product definition refers to, for loading them in one query.</summary>
    public static HashSet<string> ReferencedFeatures(IReadOnlyList<Price>? prices, IReadOnlyList<ProductFeature>? features)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in prices ?? []) if (p.FeatureId is { } id) ids.Add(id);
        foreach (var f in features ?? [])
        {
            if (f.FeatureId is { } id) ids.Add(id);
            if (f.PerEntity is { } entity) ids.Add(entity);
        }
        return ids;
    }

    /// <summary>
    /// Checks a product's features and prices against each other and the known features; returns them
    /// with defaults filled (or null when anything is invalid, with <paramref name="errors"/> saying why).
    /// </summary>
    public static (List<Price> Prices, List<ProductFeature> Features)? Product(
        IReadOnlyList<Price> prices, IReadOnlyList<ProductFeature> features, IReadOnlyDictionary<string, FeatureRecord> known, List<FieldError> errors)
    {
        var errorsBefore = errors.Count;
        if (prices.Count > PricesMax) errors.Add(new FieldError("prices", $"may have at most {PricesMax} prices"));
        if (features.Count > FeaturesMax) errors.Add(new FieldError("features", $"may have at most {FeaturesMax} features"));
        var oneTime = prices.Any(p => p.Type == "one_time");

        var outFeatures = new List<ProductFeature>();
        var byFeature = new Dictionary<string, ProductFeature>(StringComparer.Ordinal);
        for (var i = 0; i < Math.Min(features.Count, FeaturesMax); i++)
        {
            var field = $"features[{i}]";
            var pf = features[i];
            if (pf.FeatureId is null)
            {
                errors.Add(new FieldError($"{field}.feature_id", "is required"));
                continue;
            }
            if (!known.TryGetValue(pf.FeatureId, out var feature) || feature.ArchivedAt is not null)
            {
                errors.Add(new FieldError($"{field}.feature_id", $"no active feature '{pf.FeatureId}' exists"));
                continue;
            }
            if (byFeature.ContainsKey(pf.FeatureId))
            {
                errors.Add(new FieldError($"{field}.feature_id", "appears twice in this product"));
                continue;
            }
            if (feature.Type == "boolean")
            {
                if (pf.Included is not null || pf.Reset is not null || pf.Overage is not null || pf.Rollover is not null || pf.PerEntity is not null)
                    errors.Add(new FieldError(field, "a boolean feature takes no included, reset, overage, rollover or per_entity"));
                var flag = new ProductFeature(pf.FeatureId, null, null, null, null, null);
                byFeature[pf.FeatureId] = flag;
                outFeatures.Add(flag);
                continue;
            }
            if (pf.Included is not { } included) errors.Add(new FieldError($"{field}.included", "is required for a metered feature (a number or \"unlimited\")"));
            else if (!included.Unlimited && Quantity(included.Amount) is { } q) errors.Add(new FieldError($"{field}.included", q));
            var reset = pf.Reset ?? (oneTime ? "never" : "month");
            if (!Resets.Contains(reset)) errors.Add(new FieldError($"{field}.reset", "must be hour, day, week, month, year or never"));
            var overage = pf.Overage ?? "blocked";
            if (!Overages.Contains(overage)) errors.Add(new FieldError($"{field}.overage", "must be blocked, billed or allowed"));
            if (pf.Included is { Unlimited: true } && overage == "billed") errors.Add(new FieldError($"{field}.overage", "cannot be billed when included is unlimited"));
            if (pf.Rollover is { } rollover)
            {
                if (reset == "never") errors.Add(new FieldError($"{field}.rollover", "needs a reset period to roll over from"));
                if (pf.Included is { Unlimited: true }) errors.Add(new FieldError($"{field}.rollover", "cannot apply to an unlimited allowance"));
                if (rollover.Max is { } max && Quantity(max) is { } q) errors.Add(new FieldError($"{field}.rollover.max", q));
            }
            if (pf.PerEntity is { } entity)
            {
                if (!known.TryGetValue(entity, out var entityFeature) || entityFeature.ArchivedAt is not null)
                    errors.Add(new FieldError($"{field}.per_entity", $"no active feature '{entity}' exists"));
                else if (entityFeature.Type != "metered" || entity == pf.FeatureId)
                    errors.Add(new FieldError($"{field}.per_entity", "must name another metered feature (the entities, e.g. seats)"));
            }
            var normalized = pf with { Reset = reset, Overage = overage };
            byFeature[pf.FeatureId] = normalized;
            outFeatures.Add(normalized);
        }

        var outPrices = new List<Price>();
        string? currency = null;
        var recurring = 0;
        var usageFeatures = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Math.Min(prices.Count, PricesMax); i++)
        {
            var field = $"prices[{i}]";
            var p = prices[i];
            if (p.Currency is null) errors.Add(new FieldError($"{field}.currency", "is required"));
            else if (!Currencies.IsSupported(p.Currency) || p.Currency != p.Currency.ToLowerInvariant())
                errors.Add(new FieldError($"{field}.currency", "must be a supported lowercase ISO 4217 code such as usd"));
            else if (currency is null) currency = p.Currency;
            else if (currency != p.Currency) errors.Add(new FieldError($"{field}.currency", $"must match the product's other prices ({currency}): one currency per product"));

            switch (p.Type)
            {
                case "recurring":
                    recurring++;
                    if (recurring == 2) errors.Add(new FieldError($"{field}.type", "a product has at most one recurring price; make another product for another interval"));
                    Fixed(p, field, errors);
                    if (p.Interval is null) errors.Add(new FieldError($"{field}.interval", "is required for a recurring price"));
                    else if (!Intervals.Contains(p.Interval)) errors.Add(new FieldError($"{field}.interval", "must be day, week, month or year"));
                    if (p.IntervalCount is { } n && (n < 1 || n > 365)) errors.Add(new FieldError($"{field}.interval_count", "must be from 1 to 365"));
                    outPrices.Add(p with { IntervalCount = p.IntervalCount ?? 1 });
                    break;
                case "one_time":
                    Fixed(p, field, errors);
                    if (p.Interval is not null || p.IntervalCount is not null) errors.Add(new FieldError($"{field}.interval", "applies only to recurring prices"));
                    outPrices.Add(p);
                    break;
                case "usage":
                    outPrices.Add(Usage(p, field, byFeature, known, usageFeatures, errors));
                    break;
                case null:
                    errors.Add(new FieldError($"{field}.type", "is required"));
                    break;
                default:
                    errors.Add(new FieldError($"{field}.type", "must be recurring, one_time or usage"));
                    break;
            }
        }
        return errors.Count > errorsBefore ? null : (outPrices, outFeatures);
    }

    private static void Fixed(Price p, string field, List<FieldError> errors)
    {
        if (p.Amount is not { } amount) errors.Add(new FieldError($"{field}.amount", "is required"));
        else if (amount < 0) errors.Add(new FieldError($"{field}.amount", "must be a non-negative integer in the currency's minor unit"));
        if (p.FeatureId is not null || p.Model is not null || p.Billing is not null || p.UnitAmountDecimal is not null || p.PackageSize is not null || p.Tiers is not null)
            errors.Add(new FieldError(field, "feature_id, billing, model, unit_amount_decimal, package_size and tiers apply only to usage prices"));
    }

    private static Price Usage(Price p, string field, Dictionary<string, ProductFeature> byFeature, IReadOnlyDictionary<string, FeatureRecord> known,
        HashSet<string> usageFeatures, List<FieldError> errors)
    {
        if (p.Interval is not null || p.IntervalCount is not null) errors.Add(new FieldError($"{field}.interval", "applies only to recurring prices"));
        var billing = p.Billing ?? "in_arrears";
        if (!Billings.Contains(billing)) errors.Add(new FieldError($"{field}.billing", "must be in_arrears or prepaid"));
        if (p.FeatureId is null) errors.Add(new FieldError($"{field}.feature_id", "is required for a usage price"));
        else if (!known.TryGetValue(p.FeatureId, out var feature) || feature.ArchivedAt is not null)
            errors.Add(new FieldError($"{field}.feature_id", $"no active feature '{p.FeatureId}' exists"));
        else if (feature.Type == "boolean") errors.Add(new FieldError($"{field}.feature_id", "a usage price needs a metered or credit_system feature, not a boolean one"));
        else if (!byFeature.TryGetValue(p.FeatureId, out var pf)) errors.Add(new FieldError($"{field}.feature_id", "must also be listed in the product's features"));
        else if (!usageFeatures.Add(p.FeatureId)) errors.Add(new FieldError($"{field}.feature_id", "has a second usage price in this product"));
        else if (billing == "in_arrears" && pf.Overage != "billed") errors.Add(new FieldError($"{field}.feature_id", $"an in_arrears usage price bills overage, so features entry '{p.FeatureId}' needs overage: billed"));

        if (p.Amount is not null && p.Model != "package") errors.Add(new FieldError($"{field}.amount", "applies to usage prices only with model package"));
        UsagePrice? model = p.Model switch
        {
            "per_unit" => UsagePrice.PerUnit(p.UnitAmountDecimal ?? -1),
            "package" => UsagePrice.Package(p.PackageSize ?? 0, p.Amount ?? -1),
            "graduated" => UsagePrice.Graduated([.. Tiers(p, field, errors)]),
            "volume" => UsagePrice.Volume([.. Tiers(p, field, errors)]),
            _ => null,
        };
        if (model is null)
        {
            errors.Add(new FieldError($"{field}.model", p.Model is null ? "is required for a usage price" : "must be per_unit, package, graduated or volume"));
            return p;
        }
        if (p.Model == "per_unit" && p.UnitAmountDecimal is null) errors.Add(new FieldError($"{field}.unit_amount_decimal", "is required for model per_unit"));
        else if (p.Model == "package" && p.Amount is null) errors.Add(new FieldError($"{field}.amount", "is required for model package"));
        else if (p.Model == "package" && p.PackageSize is null) errors.Add(new FieldError($"{field}.package_size", "is required for model package"));
        else foreach (var problem in PriceValidation.Check(model)) errors.Add(new FieldError($"{field}.{problem.Field}", problem.Message));
        if (p.Model is "per_unit" or "package" && p.Tiers is not null) errors.Add(new FieldError($"{field}.tiers", "apply only to graduated and volume prices"));
        if (p.Model is "graduated" or "volume" && (p.UnitAmountDecimal is not null || p.PackageSize is not null))
            errors.Add(new FieldError(field, "a tiered price sets unit_amount_decimal inside its tiers"));
        if (p.Model != "package" && p.PackageSize is not null) errors.Add(new FieldError($"{field}.package_size", "applies only to model package"));
        return p with { Billing = billing };
    }

    private static IEnumerable<Tier> Tiers(Price p, string field, List<FieldError> errors)
    {
        if (p.Tiers is null)
        {
            errors.Add(new FieldError($"{field}.tiers", "are required for a tiered price"));
            yield break;
        }
        for (var i = 0; i < p.Tiers.Count; i++)
        {
            var t = p.Tiers[i];
            if (t.UnitAmountDecimal is null && t.FlatAmount is null)
                errors.Add(new FieldError($"{field}.tiers[{i}]", "needs unit_amount_decimal, flat_amount or both"));
            yield return new Tier(t.UpTo, t.UnitAmountDecimal ?? 0, t.FlatAmount ?? 0);
        }
    }

    /// <summary>The usage price as the core's pricing functions see it (null for fixed prices).</summary>
    public static UsagePrice? ToUsagePrice(Price p) => p.Model switch
    {
        "per_unit" => UsagePrice.PerUnit(p.UnitAmountDecimal ?? 0),
        "package" => UsagePrice.Package(p.PackageSize ?? 1, p.Amount ?? 0),
        "graduated" => UsagePrice.Graduated([.. (p.Tiers ?? []).Select(t => new Tier(t.UpTo, t.UnitAmountDecimal ?? 0, t.FlatAmount ?? 0))]),
        "volume" => UsagePrice.Volume([.. (p.Tiers ?? []).Select(t => new Tier(t.UpTo, t.UnitAmountDecimal ?? 0, t.FlatAmount ?? 0))]),
        _ => null,
    };

    /// <summary>Two prices are the same offer when every field but the id agrees (ids survive unchanged updates).</summary>
    public static bool SameOffer(Price a, Price b) =>
        a.Type == b.Type && a.Currency == b.Currency && a.Amount == b.Amount && a.Interval == b.Interval && a.IntervalCount == b.IntervalCount &&
        a.FeatureId == b.FeatureId && a.Billing == b.Billing && a.Model == b.Model && a.UnitAmountDecimal == b.UnitAmountDecimal &&
        a.PackageSize == b.PackageSize && (a.Tiers ?? []).SequenceEqual(b.Tiers ?? []);

    public static string? Name(string? name, string field, List<FieldError> errors)
    {
        if (name is null)
        {
            errors.Add(new FieldError(field, "is required"));
            return null;
        }
        if (Rules.Text(name, Rules.NameLengthMax, allowEmpty: false) is { } problem) errors.Add(new FieldError(field, problem));
        return name;
    }
}
