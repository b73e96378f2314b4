using System.Globalization;
using Kassa.Core.Pricing;

namespace Kassa.Core.Tests.Pricing;

public class PriceCalculatorTests
{
    private static decimal D(string s) => decimal.Parse(s, NumberStyles.Number, CultureInfo.InvariantCulture);

    // 0.1 minor units per unit up to 100,000, then 0.05 beyond: the spec's example.
    private static readonly UsagePrice TwoRateGraduated = UsagePrice.Graduated(
        new Tier(100_000m, 0.1m, 0),
        new Tier(null, 0.05m, 0));

    // Every tier has a flat amount, so the tests can see which flats a quantity reaches.
    private static readonly UsagePrice FlatGraduated = UsagePrice.Graduated(
        new Tier(10m, 1m, 100),
        new Tier(100m, 0.5m, 200),
        new Tier(null, 0.1m, 300));

    private static readonly UsagePrice FlatVolume = UsagePrice.Volume(
        new Tier(100m, 2m, 0),
        new Tier(1_000m, 1m, 500),
        new Tier(null, 0.5m, 1_000));

    [Theory]
    [InlineData("0.02", "1234567", "24691.34", 24_691L)]
    [InlineData("0.005", "1", "0.005", 0L)]
    [InlineData("0.5", "1", "0.5", 1L)]
    [InlineData("0.5", "3", "1.5", 2L)]
    [InlineData("0.4", "1", "0.4", 0L)]
    [InlineData("2", "0.25", "0.5", 1L)]
    [InlineData("100", "0.25", "25", 25L)]
    [InlineData("0.000000000001", "1000000000000", "1", 1L)]
    [InlineData("0.02", "0", "0", 0L)]
    [InlineData("0", "1000000", "0", 0L)]
    public void Per_unit(string unit, string quantity, string exact, long amount)
    {
        var price = UsagePrice.PerUnit(D(unit));
        Assert.Equal(D(exact), PriceCalculator.ExactAmount(price, D(quantity)));
        Assert.Equal(amount, PriceCalculator.Amount(price, D(quantity)));
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("0.25", 500L)]
    [InlineData("1", 500L)]
    [InlineData("999", 500L)]
    [InlineData("1000", 500L)]
    [InlineData("1000.5", 1_000L)]
    [InlineData("1001", 1_000L)]
    [InlineData("2000", 1_000L)]
    [InlineData("2001", 1_500L)]
    public void Package_charges_every_started_package(string quantity, long amount)
    {
        var price = UsagePrice.Package(1_000m, 500);
        Assert.Equal(amount, PriceCalculator.Amount(price, D(quantity)));
        Assert.Equal(amount, PriceCalculator.ExactAmount(price, D(quantity)));
    }

    [Theory]
    [InlineData("0", "0", 0L)]
    [InlineData("0.25", "0.025", 0L)]
    [InlineData("1", "0.1", 0L)]
    [InlineData("5", "0.5", 1L)]
    [InlineData("99999", "9999.9", 10_000L)]
    [InlineData("100000", "10000", 10_000L)]
    [InlineData("100001", "10000.05", 10_000L)]
    [InlineData("100010", "10000.5", 10_001L)]
    [InlineData("200000", "15000", 15_000L)]
    public void Graduated_prices_each_unit_in_its_own_tier(string quantity, string exact, long amount)
    {
        Assert.Equal(D(exact), PriceCalculator.ExactAmount(TwoRateGraduated, D(quantity)));
        Assert.Equal(amount, PriceCalculator.Amount(TwoRateGraduated, D(quantity)));
    }

    [Theory]
    [InlineData("0", 0L)]           // no usage, no flat fees
    [InlineData("0.5", 101L)]       // 0.5 + first flat 100, rounded half away from zero
    [InlineData("1", 101L)]         // 1 + 100
    [InlineData("10", 110L)]        // exactly at up_to: still only the first tier
    [InlineData("11", 311L)]        // 10 + 100 + 0.5 + 200 = 310.5
    [InlineData("100", 355L)]       // 10 + 100 + 45 + 200
    [InlineData("101", 655L)]       // 355 + 0.1 + 300 = 655.1
    [InlineData("1100", 755L)]      // 355 + 100 + 300
    public void Graduated_adds_the_flat_amount_of_every_reached_tier(string quantity, long amount) =>
        Assert.Equal(amount, PriceCalculator.Amount(FlatGraduated, D(quantity)));

    [Theory]
    [InlineData("0", 0L)]           // no usage, no flat fee
    [InlineData("0.25", 1L)]        // 0.5, rounded half away from zero
    [InlineData("1", 2L)]
    [InlineData("100", 200L)]       // exactly at up_to: the first tier
    [InlineData("100.5", 601L)]     // 100.5 + 500 = 600.5
    [InlineData("101", 601L)]       // all 101 units at 1, plus the second tier's flat
    [InlineData("1000", 1_500L)]
    [InlineData("1001", 1_501L)]    // 500.5 + 1,000
    public void Volume_prices_all_units_at_the_tier_the_total_falls_in(string quantity, long amount) =>
        Assert.Equal(amount, PriceCalculator.Amount(FlatVolume, D(quantity)));

    [Fact]
    public void Zero_usage_costs_nothing_in_every_model()
    {
        UsagePrice[] prices =
        [
            UsagePrice.PerUnit(5m),
            UsagePrice.Package(10m, 700),
            TwoRateGraduated,
            FlatGraduated,
            FlatVolume,
            UsagePrice.Volume(new Tier(null, 1m, 5_000)),
        ];
        Assert.All(prices, p =>
        {
            Assert.Equal(0m, PriceCalculator.ExactAmount(p, 0m));
            Assert.Equal(0L, PriceCalculator.Amount(p, 0m));
        });
    }

    [Fact]
    public void Amounts_beyond_long_throw_instead_of_wrapping()
    {
        var max = UsagePrice.PerUnit(PriceValidation.UnitAmountMax);
        // 10^12 × 10^8 = 10^20 minor units: a fine decimal, but more than long.MaxValue.
        Assert.Equal(100_000_000_000_000_000_000m, PriceCalculator.ExactAmount(max, 100_000_000m));
        Assert.Throws<OverflowException>(() => PriceCalculator.Amount(max, 100_000_000m));
        // 10^12 × 10^20 = 10^32 does not even fit in a decimal.
        Assert.Throws<OverflowException>(() => PriceCalculator.ExactAmount(max, 100_000_000_000_000_000_000m));
        Assert.Throws<OverflowException>(() => PriceCalculator.Amount(UsagePrice.Package(1m, 1_000_000_000_000), 10_000_000m));
        var graduated = UsagePrice.Graduated(new Tier(1m, 0m, 1_000_000_000_000), new Tier(null, 1_000_000_000_000m, 0));
        Assert.Throws<OverflowException>(() => PriceCalculator.Amount(graduated, 10_000_000m));
        // Just inside the range still works: 9,223,372 × 10^12 < long.MaxValue.
        Assert.Equal(9_223_372_000_000_000_000L, PriceCalculator.Amount(max, 9_223_372m));
    }

    [Fact]
    public void Negative_quantities_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PriceCalculator.Amount(UsagePrice.PerUnit(1m), -1m));
        Assert.Throws<ArgumentOutOfRangeException>(() => PriceCalculator.ExactAmount(TwoRateGraduated, -0.0001m));
    }

    [Fact]
    public void Invalid_prices_are_refused()
    {
        Assert.Throws<ArgumentException>(() => PriceCalculator.Amount(UsagePrice.PerUnit(-1m), 1m));
        Assert.Throws<ArgumentException>(() => PriceCalculator.Amount(UsagePrice.Package(0m, 100), 1m));
        Assert.Throws<ArgumentException>(() => PriceCalculator.Amount(UsagePrice.Graduated(), 1m));
        Assert.Throws<ArgumentException>(() => PriceCalculator.Amount(UsagePrice.Volume(new Tier(10m, 1m, 0)), 11m));
    }

    [Theory]
    [InlineData("0", "1000", "0")]
    [InlineData("1", "1000", "1")]
    [InlineData("1000", "1000", "1")]
    [InlineData("1001", "1000", "2")]
    [InlineData("0.0000000000000000000000000001", "1", "1")]
    [InlineData("3000.000000000000000000000001", "1000", "4")]
    [InlineData("79228162514264337593543950335", "1", "79228162514264337593543950335")]
    public void Packages_count_started_packages_exactly(string quantity, string size, string packages) =>
        Assert.Equal(D(packages), PriceCalculator.Packages(D(quantity), D(size)));

    [Fact]
    public void The_factories_copy_the_tiers_and_leave_unused_fields_empty()
    {
        var tiers = new[] { new Tier(null, 1m, 0) };
        var price = UsagePrice.Graduated(tiers);
        tiers[0] = new Tier(null, 9m, 0);
        Assert.Equal(5L, PriceCalculator.Amount(price, 5m));
        var package = UsagePrice.Package(1_000m, 500);
        Assert.Equal((PriceModel.Package, 0m, 1_000m, 500L, 0), (package.Model, package.UnitAmountDecimal, package.PackageSize, package.PackageAmount, package.Tiers.Count));
        var perUnit = UsagePrice.PerUnit(0.02m);
        Assert.Equal((PriceModel.PerUnit, 0.02m, 0m, 0L, 0), (perUnit.Model, perUnit.UnitAmountDecimal, perUnit.PackageSize, perUnit.PackageAmount, perUnit.Tiers.Count));
    }
}
