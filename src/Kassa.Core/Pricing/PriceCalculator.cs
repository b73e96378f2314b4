namespace Kassa.Core.Pricing;

/// <summary>
/// Prices a usage quantity. <see cref="ExactAmount"/> gives the unrounded amount in minor units;
/// <see cref="Amount"/> rounds that once, half away from zero, to whole minor units. Both reject
/// invalid prices (see <see cref="PriceValidation"/>) with <see cref="ArgumentException"/> and
/// negative quantities with <see cref="ArgumentOutOfRangeException"/>, and throw
/// <see cref="OverflowException"/> rather than wrap when an amount does not fit.
/// </summary>
/// <remarks>
/// Model semantics, for a quantity q:
/// <list type="bullet">
/// <item>per_unit: q × unit amount.</item>
/// <item>package: ⌈q / package_size⌉ × amount; a started package is charged whole.</item>
/// <item>graduated: tier i covers (up_to[i-1], up_to[i]] (the first tier starts above 0); each part
/// of q is priced at the rate of the tier it falls in, and the flat amount of every tier that q
/// reaches (q &gt; the previous up_to) is added once.</item>
/// <item>volume: the first tier with up_to ≥ q (null is infinity) prices all of q, and its flat
/// amount is added once.</item>
/// </list>
/// A quantity exactly equal to a tier's up_to belongs to that tier. A quantity of 0 costs 0 in
/// every model, flat amounts included: no usage, no charge. A plan that wants a fixed fee whatever
/// the usage should use a recurring price, not a flat amount that would also bill idle customers.
/// </remarks>
public static class PriceCalculator
{
    /// <summary>
    /// The amount for <paramref name="quantity"/> in minor units, unrounded (0.02 × 1,234,567 is
    /// 24,691.34). Exact within the 28 significant digits of <see cref="decimal"/>.
    /// </summary>
    public static decimal ExactAmount(UsagePrice price, decimal quantity)
    {
        ArgumentNullException.ThrowIfNull(price);
        ArgumentOutOfRangeException.ThrowIfNegative(quantity);
        PriceValidation.ThrowIfInvalid(price);
        if (quantity == 0) return 0m;
        return price.Model switch
        {
            PriceModel.PerUnit => quantity * price.UnitAmountDecimal,
            PriceModel.Package => Packages(quantity, price.PackageSize) * price.PackageAmount,
            PriceModel.Graduated => Graduated(price.Tiers, quantity),
            PriceModel.Volume => Volume(price.Tiers, quantity),
            _ => throw new ArgumentOutOfRangeException(nameof(price)),
        };
    }

    /// <summary>
    /// The amount for <paramref name="quantity"/> in whole minor units: <see cref="ExactAmount"/>
    /// rounded once, half away from zero (0.5 becomes 1, 1.5 becomes 2). Throws
    /// <see cref="OverflowException"/> when the result does not fit in a <see cref="long"/>.
    /// </summary>
    public static long Amount(UsagePrice price, decimal quantity) =>
        // decimal.ToInt64 throws OverflowException outside the long range instead of wrapping.
        decimal.ToInt64(Math.Round(ExactAmount(price, quantity), 0, MidpointRounding.AwayFromZero));

    /// <summary>How many packages of <paramref name="size"/> units <paramref name="quantity"/> starts: ⌈quantity / size⌉.</summary>
    public static decimal Packages(decimal quantity, decimal size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(quantity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        // The remainder is exact where quantity / size may round in its last digit and land on a
        // whole number just below or above the true quotient; counting full packages from the
        // remainder cannot miss a started one.
        var rest = decimal.Remainder(quantity, size);
        var full = (quantity - rest) / size;
        return rest > 0 ? full + 1 : full;
    }

    private static decimal Graduated(IReadOnlyList<Tier> tiers, decimal quantity)
    {
        var total = 0m;
        var lower = 0m;
        foreach (var tier in tiers)
        {
            if (quantity <= lower) break;
            var top = tier.UpTo is { } upTo ? Math.Min(quantity, upTo) : quantity;
            total += (top - lower) * tier.UnitAmountDecimal + tier.FlatAmount;
            if (tier.UpTo is null) break;
            lower = tier.UpTo.Value;
        }
        return total;
    }

    private static decimal Volume(IReadOnlyList<Tier> tiers, decimal quantity)
    {
        foreach (var tier in tiers)
        {
            if (tier.UpTo is null || quantity <= tier.UpTo.Value)
                return quantity * tier.UnitAmountDecimal + tier.FlatAmount;
        }
        // Validation guarantees an unbounded last tier, so the loop always returns.
        throw new InvalidOperationException("a valid volume price always has an unbounded last tier");
    }
}
