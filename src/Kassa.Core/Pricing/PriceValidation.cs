using System.Globalization;
using Kassa.Core.Errors;

namespace Kassa.Core.Pricing;

/// <summary>
/// Checks a <see cref="UsagePrice"/> against the catalog rules and the bounds below. Problems are
/// reported with wire field names (<c>unit_amount_decimal</c>, <c>package_size</c>, <c>amount</c>,
/// <c>tiers</c>, <c>tiers[1].up_to</c>, ...) so they can go straight into a validation error.
/// </summary>
public static class PriceValidation
{
    /// <summary>The most tiers a graduated or volume price may have.</summary>
    public const int TiersMax = 100;

    /// <summary>The most fractional digits a unit amount or tier bound may have.</summary>
    public const int FractionDigitsMax = 12;

    /// <summary>The largest unit amount, in minor units per unit.</summary>
    public const decimal UnitAmountMax = 1_000_000_000_000m;

    /// <summary>The largest flat or package amount, in minor units.</summary>
    public const long AmountMax = 1_000_000_000_000L;

    /// <summary>The largest package size and tier bound, in units.</summary>
    public const decimal QuantityBoundMax = 1_000_000_000_000_000m;

    /// <summary>
    /// Every problem with <paramref name="price"/>, in field order; empty when the price is valid.
    /// Fields the model does not use must be zero or empty. A price with more than
    /// <see cref="TiersMax"/> tiers reports only that, so the work done here stays bounded.
    /// </summary>
    public static IReadOnlyList<FieldError> Check(UsagePrice price)
    {
        ArgumentNullException.ThrowIfNull(price);
        var problems = new List<FieldError>();
        switch (price.Model)
        {
            case PriceModel.PerUnit:
                UnitAmount("unit_amount_decimal", price.UnitAmountDecimal, problems);
                Unused(price, problems, unit: false, package: true, tiers: true);
                break;
            case PriceModel.Package:
                if (price.PackageSize <= 0) problems.Add(new("package_size", "must be greater than 0"));
                else if (price.PackageSize != decimal.Truncate(price.PackageSize)) problems.Add(new("package_size", "must be a whole number"));
                else if (price.PackageSize > QuantityBoundMax) problems.Add(new("package_size", AtMost(QuantityBoundMax)));
                Amount("amount", price.PackageAmount, problems);
                Unused(price, problems, unit: true, package: false, tiers: true);
                break;
            case PriceModel.Graduated:
            case PriceModel.Volume:
                Unused(price, problems, unit: true, package: true, tiers: false);
                Tiers(price.Tiers, problems);
                break;
            default:
                problems.Add(new("model", "must be one of per_unit, package, graduated, volume"));
                break;
        }
        return problems;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first problem when <paramref name="price"/> is invalid.</summary>
    public static void ThrowIfInvalid(UsagePrice price)
    {
        var problems = Check(price);
        if (problems.Count > 0)
            throw new ArgumentException($"invalid usage price: {problems[0].Field} {problems[0].Message}", nameof(price));
    }

    /// <summary>The wire name of a model: <c>per_unit</c>, <c>package</c>, <c>graduated</c> or <c>volume</c>.</summary>
    public static string WireName(PriceModel model) => model switch
    {
        PriceModel.PerUnit => "per_unit",
        PriceModel.Package => "package",
        PriceModel.Graduated => "graduated",
        PriceModel.Volume => "volume",
        _ => throw new ArgumentOutOfRangeException(nameof(model)),
    };

    private static void Tiers(IReadOnlyList<Tier>? tiers, List<FieldError> problems)
    {
        // A record built by hand or by a deserialiser can carry a null list despite the annotation.
        if (tiers is null || tiers.Count == 0)
        {
            problems.Add(new("tiers", "must not be empty"));
            return;
        }
        if (tiers.Count > TiersMax)
        {
            problems.Add(new("tiers", $"may have at most {TiersMax} tiers"));
            return;
        }
        decimal? previous = null;
        for (var i = 0; i < tiers.Count; i++)
        {
            var tier = tiers[i];
            var prefix = $"tiers[{i}]";
            if (tier is null)
            {
                problems.Add(new(prefix, "must not be null"));
                continue;
            }
            var last = i == tiers.Count - 1;
            if (tier.UpTo is { } upTo)
            {
                if (last) problems.Add(new($"{prefix}.up_to", "must be null on the last tier"));
                if (upTo <= 0) problems.Add(new($"{prefix}.up_to", "must be greater than 0"));
                else if (previous is { } p && upTo <= p) problems.Add(new($"{prefix}.up_to", "must be greater than the previous tier's up_to"));
                else if (upTo > QuantityBoundMax) problems.Add(new($"{prefix}.up_to", AtMost(QuantityBoundMax)));
                else if (FractionDigits(upTo) > FractionDigitsMax) problems.Add(new($"{prefix}.up_to", $"must have at most {FractionDigitsMax} fractional digits"));
                // Comparing the next bound against the largest seen so far keeps one bad bound
                // from producing a cascade of complaints about the tiers after it.
                if (previous is null || upTo > previous) previous = upTo;
            }
            else if (!last)
            {
                problems.Add(new($"{prefix}.up_to", "may only be null on the last tier"));
            }
            UnitAmount($"{prefix}.unit_amount_decimal", tier.UnitAmountDecimal, problems);
            Amount($"{prefix}.flat_amount", tier.FlatAmount, problems);
        }
    }

    private static void UnitAmount(string field, decimal value, List<FieldError> problems)
    {
        if (value < 0) problems.Add(new(field, "must not be negative"));
        else if (value > UnitAmountMax) problems.Add(new(field, AtMost(UnitAmountMax)));
        else if (FractionDigits(value) > FractionDigitsMax) problems.Add(new(field, $"must have at most {FractionDigitsMax} fractional digits"));
    }

    private static void Amount(string field, long value, List<FieldError> problems)
    {
        if (value < 0) problems.Add(new(field, "must not be negative"));
        else if (value > AmountMax) problems.Add(new(field, AtMost(AmountMax)));
    }

    private static void Unused(UsagePrice price, List<FieldError> problems, bool unit, bool package, bool tiers)
    {
        var model = WireName(price.Model);
        if (unit && price.UnitAmountDecimal != 0) problems.Add(new("unit_amount_decimal", $"must not be set for the {model} model"));
        if (package && price.PackageSize != 0) problems.Add(new("package_size", $"must not be set for the {model} model"));
        if (package && price.PackageAmount != 0) problems.Add(new("amount", $"must not be set for the {model} model"));
        if (tiers && price.Tiers is { Count: > 0 }) problems.Add(new("tiers", $"must not be set for the {model} model"));
    }

    // Bound messages are written the same way on every machine, whatever its culture.
    private static string AtMost(decimal bound) => "must be at most " + bound.ToString("#,0", CultureInfo.InvariantCulture);

    // Significant fractional digits: trailing zeros do not count, so "0.10" has one. The scale of a
    // decimal is at most 28, which bounds the loop.
    internal static int FractionDigits(decimal value)
    {
        for (var digits = 0; digits < 28; digits++)
        {
            if (decimal.Round(value, digits) == value) return digits;
        }
        return 28;
    }
}
