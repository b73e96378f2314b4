using Kassa.Core.Balances;
using static Kassa.Core.Tests.Balances.Fixtures;

namespace Kassa.Core.Tests.Balances;

public class CorrectionTests
{
    private static readonly DateTimeOffset Now = T0.AddDays(1);

    private static FeatureBalance TwoBuckets() => new([Grant("grant", 3_000_000), Allowance("allow", 5_000_000)], 0);

    [Fact]
    public void Correct_reduces_overage_first()
    {
        var b = TwoBuckets();
        b.Consume(10_000_000, Now); // allow 5, grant 3, overage 2
        b.ClearMovements();
        Assert.Equal("_:1500000", Show(b.Correct(1_500_000, Now)));
        Assert.Equal(500_000, b.Overage);
        Assert.Equal(8_000_000, b.Used(Now));
        Assert.Equal("Adjust/_/1500000", Show(b.Movements));
    }

    [Fact]
    public void Correct_past_the_overage_returns_usage_newest_consumed_first()
    {
        var b = TwoBuckets();
        b.Consume(9_000_000, Now); // allow 5, grant 3, overage 1
        Assert.Equal("_:1000000,grant:3000000,allow:500000", Show(b.Correct(4_500_000, Now)));
        Assert.Equal(0, b.Overage);
        Assert.Equal(0, b.Find("grant")!.Used);
        Assert.Equal(4_500_000, b.Find("allow")!.Used);
        Assert.Equal(3_500_000, b.Remaining(Now));
    }

    [Fact]
    public void Correct_never_goes_below_zero_and_returns_what_there_was()
    {
        var b = TwoBuckets();
        b.Consume(6_000_000, Now);
        var back = b.Correct(100_000_000, Now);
        Assert.Equal("grant:1000000,allow:5000000", Show(back));
        Assert.Equal(6_000_000, back.Sum(p => p.Amount));
        Assert.Equal(0, b.Used(Now));
        Assert.Equal(0, b.Overage);
        Assert.Empty(b.Correct(1, Now));
    }

    [Fact]
    public void Correct_does_not_touch_held_units()
    {
        var b = TwoBuckets();
        b.Consume(1_000_000, Now);
        b.TryHold(2_000_000, Now, false);
        Assert.Equal("allow:1000000", Show(b.Correct(5_000_000, Now)));
        Assert.Equal(2_000_000, b.Held(Now));
    }

    [Fact]
    public void Correct_gives_back_to_usable_buckets_first_then_to_buckets_that_still_exist()
    {
        var old = Grant("old", 2_000_000, priority: 0, expiresAt: T0.AddDays(2), used: 2_000_000);
        var voided = new Bucket("voided", BucketKind.Grant, 10, GrantCategory.Paid, 1_000_000, 1_000_000, 0, T0, null, T0, voided: true);
        var live = Grant("live", 3_000_000, used: 1_000_000);
        var b = new FeatureBalance([old, voided, live], 0);
        var later = T0.AddDays(3); // `old` has expired, its expiry not recorded yet
        Assert.Equal("live:1000000,old:1500000", Show(b.Correct(2_500_000, later)));
        Assert.Equal(1_000_000, voided.Used);
        Assert.Equal("Adjust/live/1000000,Adjust/old/1500000", Show(b.Movements));
        // What went back into the expired bucket is reported when its expiry is recorded.
        Assert.Equal("old:1500000", Show(b.ExpireDue(later)));
    }

    [Fact]
    public void Correct_into_an_expired_recorded_bucket_records_it_as_expired()
    {
        var old = Grant("old", 2_000_000, expiresAt: T0.AddDays(2), used: 2_000_000);
        var b = new FeatureBalance([old], 0);
        Assert.Empty(b.ExpireDue(T0.AddDays(2)));
        Assert.True(old.ExpiryRecorded);
        Assert.Equal("old:500000", Show(b.Correct(500_000, T0.AddDays(3))));
        Assert.Equal("Adjust/old/500000,Expire/old/500000", Show(b.Movements));
    }

    [Fact]
    public void SetUsed_up_spreads_in_burn_order_then_overage()
    {
        var b = TwoBuckets();
        b.Consume(1_000_000, Now);
        b.ClearMovements();
        b.SetUsed(9_000_000, Now);
        Assert.Equal(5_000_000, b.Find("allow")!.Used);
        Assert.Equal(3_000_000, b.Find("grant")!.Used);
        Assert.Equal(1_000_000, b.Overage);
        Assert.Equal("Adjust/allow/4000000,Adjust/grant/3000000,Adjust/_/1000000", Show(b.Movements));
    }

    [Fact]
    public void SetUsed_down_collects_from_overage_then_newest_consumed_first()
    {
        var b = TwoBuckets();
        b.Consume(9_000_000, Now);
        b.ClearMovements();
        b.SetUsed(4_000_000, Now);
        Assert.Equal(4_000_000, b.Find("allow")!.Used);
        Assert.Equal(0, b.Find("grant")!.Used);
        Assert.Equal(0, b.Overage);
        Assert.Equal("Adjust/_/1000000,Adjust/grant/3000000,Adjust/allow/1000000", Show(b.Movements));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(4_000_000L)]
    [InlineData(6_000_000L)]
    [InlineData(8_000_000L)]
    [InlineData(8_000_001L)]
    [InlineData(20_000_000L)]
    public void SetUsed_sets_usage_as_of_now_and_leaves_other_buckets_alone(long target)
    {
        var expired = Grant("expired", 1_000_000, priority: 0, expiresAt: Now, used: 700_000);
        var b = new FeatureBalance([expired, Allowance("allow", 5_000_000), Grant("grant", 3_000_000)], 0);
        b.Consume(6_500_000, Now);
        b.TryHold(500_000, Now, false);
        b.SetUsed(target, Now);
        Assert.Equal(target, b.Used(Now) + b.Overage);
        Assert.Equal(500_000, b.Held(Now));
        Assert.Equal(700_000, expired.Used);
        Assert.All(b.Buckets, x => Assert.True(x.Remaining >= 0 && x.Used >= 0));
        Assert.All(b.Movements, m => Assert.True(m.Amount > 0));
    }

    [Fact]
    public void SetUsed_to_the_current_usage_records_nothing()
    {
        var b = TwoBuckets();
        b.Consume(2_000_000, Now);
        b.ClearMovements();
        b.SetUsed(2_000_000, Now);
        Assert.Empty(b.Movements);
    }

    [Fact]
    public void ResetOverage_clears_overage_and_records_it()
    {
        var b = new FeatureBalance([], 3);
        b.ResetOverage();
        Assert.Equal(0, b.Overage);
        Assert.Equal("Reset/_/3", Show(b.Movements));
        b.ResetOverage();
        Assert.Single(b.Movements);
    }
}
