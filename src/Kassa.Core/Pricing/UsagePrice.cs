namespace Kassa.Core.Pricing;

/// <summary>How a usage price turns a quantity into an amount; see <see cref="PriceCalculator"/>.</summary>
public enum PriceModel
{
    /// <summary><c>per_unit</c>: quantity × unit amount.</summary>
    PerUnit,

    /// <summary><c>package</c>: every started package of <c>package_size</c> units costs <c>amount</c>.</summary>
    Package,

    /// <summary><c>graduated</c>: each unit is priced at the rate of the tier it falls in, plus each reached tier's flat amount.</summary>
    Graduated,

    /// <summary><c>volume</c>: all units are priced at the rate of the tier the total falls in, plus that tier's flat amount.</summary>
    Volume,
}

/// <summary>
/// One tier of a graduated or volume price. The tier covers quantities above the previous tier's
/// <see cref="UpTo"/> (or above 0 for the first tier) up to and including its own <see cref="UpTo"/>;
/// null means no upper bound and is only valid on the last tier.
/// </summary>
/// <param name="UpTo">Inclusive upper bound of the tier in units, or null for infinity.</param>
/// <param name="UnitAmountDecimal">Minor units per unit inside this tier; may be a fraction of a minor unit. At least 0.</param>
/// <param name="FlatAmount">Minor units charged once when the tier is reached (graduated) or selected (volume). At least 0.</param>
public sealed record Tier(decimal? UpTo, decimal UnitAmountDecimal, long FlatAmount = 0);

/// <summary>
/// A catalog <c>usage</c> price, model plus the fields that model uses; fields another model
/// uses are zero or empty. Build one through <see cref="PerUnit"/>, <see cref="Package"/>,
/// <see cref="Graduated"/> or <see cref="Volume"/>, and check untrusted ones with
/// <see cref="PriceValidation.Check"/>. All amounts are in minor units of the price's currency.
/// </summary>
/// <param name="Model">The pricing model.</param>
/// <param name="UnitAmountDecimal">per_unit: minor units per unit, possibly sub-minor (0.02 is a fiftieth of a cent).</param>
/// <param name="PackageSize">package: units per package, a whole number greater than 0.</param>
/// <param name="PackageAmount">package: minor units per started package.</param>
/// <param name="Tiers">graduated and volume: tiers in ascending <see cref="Tier.UpTo"/> order, the last unbounded.</param>
public sealed record UsagePrice(PriceModel Model, decimal UnitAmountDecimal, decimal PackageSize, long PackageAmount, IReadOnlyList<Tier> Tiers)
{
    /// <summary>A per_unit price of <paramref name="unitAmountDecimal"/> minor units per unit.</summary>
    public static UsagePrice PerUnit(decimal unitAmountDecimal) =>
        new(PriceModel.PerUnit, unitAmountDecimal, 0m, 0L, []);

    /// <summary>A package price: <paramref name="amount"/> minor units per started package of <paramref name="size"/> units.</summary>
    public static UsagePrice Package(decimal size, long amount) =>
        new(PriceModel.Package, 0m, size, amount, []);

    /// <summary>A graduated price over <paramref name="tiers"/> (copied, so later changes to the array do not leak in).</summary>
    public static UsagePrice Graduated(params Tier[] tiers) =>
        new(PriceModel.Graduated, 0m, 0m, 0L, Copy(tiers));

    /// <summary>A volume price over <paramref name="tiers"/> (copied, so later changes to the array do not leak in).</summary>
    public static UsagePrice Volume(params Tier[] tiers) =>
        new(PriceModel.Volume, 0m, 0m, 0L, Copy(tiers));

    private static IReadOnlyList<Tier> Copy(Tier[] tiers)
    {
        ArgumentNullException.ThrowIfNull(tiers);
        return Array.AsReadOnly((Tier[])tiers.Clone());
    }
}
