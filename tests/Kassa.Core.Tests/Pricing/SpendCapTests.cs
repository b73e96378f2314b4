using Kassa.Core.Pricing;

namespace Kassa.Core.Tests.Pricing;

public class SpendCapTests
{
    private const long Unit = 1_000_000;

    // 0.5 minor units per unit: 10,000 units of overage cost 5,000.
    private static readonly UsagePrice HalfCent = UsagePrice.PerUnit(0.5m);

    [Theory]
    // overage so far, remaining, requested, cap → would pass
    [InlineData(0, 10, 5, 0, false)]          // covered by remaining: the cap never denies
    [InlineData(0, 10, 10, 0, false)]         // exactly the remaining
    [InlineData(0, 10, 11, 0, true)]          // 1 unit over costs 0.5 → rounds to 1 > 0
    [InlineData(9_998, 0, 2, 5_000, false)]   // reaching the cap exactly (10,000 units = 5,000) is allowed
    [InlineData(9_998, 0, 3, 5_000, true)]    // 10,001 units = 5,000.5 → 5,001 > 5,000
    [InlineData(10_000, 0, 1, 5_000, true)]   // already at the cap: any further overage passes it
    [InlineData(20_000, 5, 5, 5_000, false)]  // already past, but the balance still covers this request
    public void Per_unit(long overage, long remaining, long requested, long cap, bool expected) =>
        Assert.Equal(expected, SpendCap.WouldPass(HalfCent, overage * Unit, remaining * Unit, requested * Unit, cap));

    [Fact]
    public void Graduated_prices_the_whole_period_overage_not_only_the_new_part()
    {
        // First 100 units at 10, the rest at 1: 100 units cost 1,000, 150 cost 1,050.
        var price = UsagePrice.Graduated(new Tier(100, 10), new Tier(null, 1));
        Assert.False(SpendCap.WouldPass(price, 100 * Unit, 0, 50 * Unit, 1_050));
        Assert.True(SpendCap.WouldPass(price, 100 * Unit, 0, 51 * Unit, 1_050));
        Assert.Equal(1_000, SpendCap.OverageAmount(price, 100 * Unit));
    }

    [Fact]
    public void Package_counts_a_started_package()
    {
        var price = UsagePrice.Package(1_000, 200);
        Assert.False(SpendCap.WouldPass(price, 0, 0, 1_000 * Unit, 200));
        Assert.True(SpendCap.WouldPass(price, 1_000 * Unit, 0, 1, 200));
    }

    [Fact]
    public void Fractional_units_are_priced_exactly()
    {
        // 0.5 units over at 3 per unit = 1.5 → 2 (half away from zero) > 1.
        Assert.True(SpendCap.WouldPass(UsagePrice.PerUnit(3), 0, 0, Unit / 2, 1));
        Assert.False(SpendCap.WouldPass(UsagePrice.PerUnit(3), 0, 0, Unit / 2, 2));
    }

    [Fact]
    public void Negative_inputs_are_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SpendCap.WouldPass(HalfCent, -1, 0, 1, 0));
}
