using Kassa.Core.Invoicing;
using Kassa.Core.Pricing;

namespace Kassa.Core.Tests.Invoicing;

public class PriorPeriodLinesTests
{
    private static readonly DateTimeOffset Start = new(2028, 3, 10, 12, 30, 15, TimeSpan.Zero);
    private static readonly DateTimeOffset End = new(2028, 4, 10, 12, 30, 15, TimeSpan.Zero);

    private static UsageCharge Total(UsagePrice price, decimal units) => new("payg", "calls", "PAYG — calls usage", price, units);

    [Fact]
    public void The_difference_is_priced_at_the_margin_so_graduated_tiers_stay_right()
    {
        var price = UsagePrice.Graduated(new Tier(120, 3m, 0), new Tier(null, 1m, 0));
        // 100 billed for 300; now 150: (120 × 3 + 30 × 1) − 300 = 90, not 50 × 3.
        var line = PriorPeriodLines.Difference(Total(price, 150), 100, 300, Start, End)!;
        Assert.Equal(LineType.PriorPeriod, line.Type);
        Assert.Equal(50m, line.Quantity);
        Assert.Equal(90, line.AmountMinor);
        Assert.Equal(1.8m, line.UnitAmountDecimal);
        Assert.Equal((Start, End), (line.PeriodStart!.Value, line.PeriodEnd!.Value));
        Assert.Equal("calls", line.FeatureId);
    }

    [Fact]
    public void The_period_is_rounded_once_over_all_its_lines()
    {
        var half = UsagePrice.PerUnit(0.5m);
        // 3 billed for 2 (1.5 rounded up); 4 more make 7 × 0.5 = 3.5 → 4 in all: the difference is 2, not round(2) + round(1.5).
        Assert.Equal(2, PriorPeriodLines.Difference(Total(half, 7), 3, 2, Start, End)!.AmountMinor);
        // The first late unit: 4 × 0.5 = 2, already billed 2: nothing owed yet, no line.
        Assert.Null(PriorPeriodLines.Difference(Total(half, 4), 3, 2, Start, End));
    }

    [Fact]
    public void Usage_that_did_not_grow_makes_no_line()
    {
        var price = UsagePrice.PerUnit(3m);
        Assert.Null(PriorPeriodLines.Difference(Total(price, 100), 100, 300, Start, End));
        Assert.Null(PriorPeriodLines.Difference(Total(price, 90), 100, 300, Start, End));
        Assert.Equal(3, PriorPeriodLines.Difference(Total(price, 1), 0, 0, Start, End)!.AmountMinor);
    }
}
