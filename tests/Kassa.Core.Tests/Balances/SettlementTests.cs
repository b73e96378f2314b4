using Kassa.Core.Balances;
using static Kassa.Core.Tests.Balances.Fixtures;

namespace Kassa.Core.Tests.Balances;

/// <summary>Overage is paid out of units that become available, so remaining = granted − used − held exactly.</summary>
public class SettlementTests
{
    private static readonly DateTimeOffset Now = T0.AddDays(1);

    private static long SpecRemaining(FeatureBalance b, DateTimeOffset now) =>
        Math.Max(0, b.Granted(now) - b.Usage(now) - b.Held(now));

    [Fact]
    public void A_grant_added_after_overage_pays_it_first_and_usage_is_unchanged()
    {
        var b = new FeatureBalance([Allowance("allow", 10 * Unit)], 0);
        b.Consume(60 * Unit, Now);
        b.Add(Grant("g1", 20 * Unit));
        b.ClearMovements();

        Assert.Equal(20 * Unit, b.SettleOverage(Now));

        Assert.Equal((30 * Unit, 60 * Unit, 0L, 30 * Unit), (b.Granted(Now), b.Usage(Now), b.Remaining(Now), b.Overage));
        Assert.Equal("Adjust/_/20000000,Consume/g1/20000000", Show(b.Movements));
        Assert.Equal(SpecRemaining(b, Now), b.Remaining(Now));
    }

    [Fact]
    public void Settling_takes_in_burn_order_and_stops_when_the_overage_is_paid()
    {
        var b = new FeatureBalance([Allowance("allow", 10 * Unit)], 0);
        b.Consume(13 * Unit, Now);
        b.Add(Grant("late", 5 * Unit, priority: 20));
        b.Add(Grant("early", 2 * Unit, priority: 1));

        Assert.Equal(3 * Unit, b.SettleOverage(Now));

        Assert.Equal((2 * Unit, 1 * Unit, 0L), (b.Find("early")!.Used, b.Find("late")!.Used, b.Overage));
        Assert.Equal(4 * Unit, b.Remaining(Now));
        Assert.Equal(SpecRemaining(b, Now), b.Remaining(Now));
    }

    [Fact]
    public void A_released_hold_pays_overage_that_accrued_while_it_was_held()
    {
        var b = new FeatureBalance([Allowance("allow", 10 * Unit)], 0);
        var hold = b.TryHold(10 * Unit, Now, allowOverage: false)!;
        b.Consume(4 * Unit, Now);
        Assert.Equal(4 * Unit, b.Overage);
        b.Release(hold);

        Assert.Equal(4 * Unit, b.SettleOverage(Now));

        Assert.Equal((4 * Unit, 6 * Unit, 0L), (b.Usage(Now), b.Remaining(Now), b.Overage));
    }

    [Fact]
    public void A_grant_not_yet_effective_pays_nothing_until_it_is()
    {
        var b = new FeatureBalance([Allowance("allow", 10 * Unit)], 0);
        b.Consume(15 * Unit, Now);
        b.Add(Grant("later", 8 * Unit, effectiveAt: Now.AddDays(2)));

        Assert.Equal(0, b.SettleOverage(Now));
        Assert.Equal(5 * Unit, b.Overage);
        Assert.Equal(5 * Unit, b.SettleOverage(Now.AddDays(3)));
        Assert.Equal((0L, 3 * Unit), (b.Overage, b.Remaining(Now.AddDays(3))));
    }

    [Fact]
    public void With_nothing_available_or_no_overage_settling_changes_nothing()
    {
        var b = new FeatureBalance([Allowance("allow", 10 * Unit)], 0);
        b.Consume(4 * Unit, Now);
        var before = Snapshot(b);
        Assert.Equal(0, b.SettleOverage(Now));
        b.Consume(20 * Unit, Now);
        b.ClearMovements();
        var exhausted = Snapshot(b);
        Assert.Equal(0, b.SettleOverage(Now));
        Assert.Equal(exhausted, Snapshot(b));
        Assert.Empty(b.Movements);
        Assert.NotEqual(before, exhausted);
    }
}
