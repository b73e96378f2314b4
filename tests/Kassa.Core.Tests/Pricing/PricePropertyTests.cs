using FsCheck;
using FsCheck.Fluent;
using Kassa.Core.Pricing;

namespace Kassa.Core.Tests.Pricing;

public class PricePropertyTests
{
    // Builds a valid tier set from arbitrary integers so FsCheck can generate and shrink it with its
    // built-in generators: each integer contributes one bounded tier (a gap of 1 to 1,000 units, a
    // rate of 0 to 9.999 minor units with three decimals, and on some tiers a flat amount), and a
    // final unbounded tier is always appended.
    private static Tier[] TiersFrom(int[] seeds, int lastSeed)
    {
        var tiers = new List<Tier>();
        var upTo = 0m;
        foreach (var seed in seeds.Take(10))
        {
            var s = Math.Abs((long)seed);
            upTo += s % 1_000 + 1;
            tiers.Add(new Tier(upTo, s / 1_000 % 10_000 / 1_000m, s % 7 == 0 ? s % 500 : 0));
        }
        var last = Math.Abs((long)lastSeed);
        tiers.Add(new Tier(null, last % 10_000 / 1_000m, last % 3 == 0 ? last % 300 : 0));
        return [.. tiers];
    }

    // Quantities in quarter units so fractional usage and exact tier boundaries both come up.
    private static decimal Quantity(uint raw) => raw % 40_000 / 4m;

    [Fact]
    public void Graduated_is_monotone_in_quantity()
    {
        Prop.ForAll<int[], uint, uint>((seeds, a, b) =>
        {
            var price = UsagePrice.Graduated(TiersFrom(seeds, seeds.Length));
            var (low, high) = (Math.Min(Quantity(a), Quantity(b)), Math.Max(Quantity(a), Quantity(b)));
            return PriceCalculator.ExactAmount(price, low) <= PriceCalculator.ExactAmount(price, high)
                && PriceCalculator.Amount(price, low) <= PriceCalculator.Amount(price, high);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Graduated_of_a_sum_is_at_least_graduated_of_a_part()
    {
        Prop.ForAll<int[], uint, uint>((seeds, a, b) =>
        {
            var price = UsagePrice.Graduated(TiersFrom(seeds, a.GetHashCode()));
            var n = Quantity(a);
            var m = Quantity(b);
            return PriceCalculator.Amount(price, n + m) >= PriceCalculator.Amount(price, n)
                && PriceCalculator.Amount(price, n + m) >= PriceCalculator.Amount(price, m);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Volume_and_graduated_agree_on_a_single_tier()
    {
        Prop.ForAll<int, uint>((seed, raw) =>
        {
            var tier = TiersFrom([], seed)[0];
            var q = Quantity(raw);
            var graduated = PriceCalculator.ExactAmount(UsagePrice.Graduated(tier), q);
            var volume = PriceCalculator.ExactAmount(UsagePrice.Volume(tier), q);
            var expected = q == 0 ? 0m : q * tier.UnitAmountDecimal + tier.FlatAmount;
            return graduated == volume && volume == expected;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Package_charges_whole_packages_that_cover_the_quantity()
    {
        Prop.ForAll<uint, uint, uint>((rawSize, rawAmount, rawQuantity) =>
        {
            var size = rawSize % 5_000 + 1;
            var amount = (long)(rawAmount % 100_000);
            var q = Quantity(rawQuantity);
            var charged = PriceCalculator.Amount(UsagePrice.Package(size, amount), q);
            var packages = PriceCalculator.Packages(q, size);
            return packages == decimal.Truncate(packages)
                && charged == packages * amount
                && packages * size >= q
                && (packages == 0 || (packages - 1) * size < q);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Per_unit_is_exactly_additive_before_rounding()
    {
        Prop.ForAll<uint, uint, ulong>((a, b, rawUnit) =>
        {
            // Up to 12 fractional digits, as validation allows.
            var price = UsagePrice.PerUnit(rawUnit % 10_000_000_000_000_000 / 1_000_000_000_000m);
            var qa = a / 4m;
            var qb = b / 4m;
            var exactA = PriceCalculator.ExactAmount(price, qa);
            var exactB = PriceCalculator.ExactAmount(price, qb);
            var exactSum = PriceCalculator.ExactAmount(price, qa + qb);
            var rounded = PriceCalculator.Amount(price, qa + qb) - PriceCalculator.Amount(price, qa) - PriceCalculator.Amount(price, qb);
            // Exact amounts add up exactly; rounded ones may differ by one minor unit per rounding.
            return exactSum - exactA - exactB == 0m && Math.Abs(rounded) <= 1;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Rounding_is_once_and_half_away_from_zero()
    {
        Prop.ForAll<uint, uint>((rawUnit, rawQuantity) =>
        {
            var price = UsagePrice.PerUnit(rawUnit % 100_000 / 1_000m);
            var q = rawQuantity % 1_000_000 / 10m;
            var exact = PriceCalculator.ExactAmount(price, q);
            var amount = PriceCalculator.Amount(price, q);
            return Math.Abs(amount - exact) < 0.5m || amount - exact == 0.5m;
        }).QuickCheckThrowOnFailure();
    }
}
