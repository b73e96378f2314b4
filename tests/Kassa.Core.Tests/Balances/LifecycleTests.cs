using Kassa.Core.Balances;
using static Kassa.Core.Tests.Balances.Fixtures;

namespace Kassa.Core.Tests.Balances;

public class LifecycleTests
{
    [Fact]
    public void A_bucket_is_usable_from_effective_at_until_just_before_expires_at()
    {
        var b = Grant("g", 1, effectiveAt: T0, expiresAt: T0.AddDays(1));
        Assert.False(b.IsUsable(T0.AddTicks(-1)));
        Assert.True(b.IsUsable(T0));
        Assert.True(b.IsUsable(T0.AddDays(1).AddTicks(-1)));
        Assert.False(b.IsUsable(T0.AddDays(1)));
        Assert.True(Grant("forever", 1).IsUsable(DateTimeOffset.MaxValue));
        b.Voided = true;
        Assert.False(b.IsUsable(T0));
    }

    [Fact]
    public void A_bucket_past_its_expiry_is_not_used()
    {
        var b = new FeatureBalance([Allowance("period1", 5_000_000, expiresAt: T0.AddDays(30)), Grant("grant", 2_000_000)], 0);
        var atReset = T0.AddDays(30);
        Assert.Equal("grant:2000000,_:1000000", Show(b.Consume(3_000_000, atReset)));
        Assert.Equal(0, b.Find("period1")!.Used);
        Assert.Equal(2_000_000, b.Granted(atReset));
        Assert.Equal(0, b.Remaining(atReset));
    }

    [Fact]
    public void A_bucket_not_yet_effective_is_not_used()
    {
        var b = new FeatureBalance([Grant("later", 5_000_000, effectiveAt: T0.AddDays(1))], 0);
        Assert.Equal("_:1", Show(b.Consume(1, T0)));
        Assert.Equal(0, b.Remaining(T0));
        Assert.Equal(5_000_000, b.Remaining(T0.AddDays(1)));
    }

    [Fact]
    public void ExpireDue_reports_each_expiry_once_and_keeps_the_numbers()
    {
        var soon = Grant("soon", 4_000_000, expiresAt: T0.AddDays(2));
        var empty = Grant("empty", 1_000_000, expiresAt: T0.AddDays(1));
        var never = Grant("never", 1_000_000);
        var b = new FeatureBalance([soon, empty, never], 0);
        b.Consume(2_500_000, T0); // empty 1, soon 1.5
        b.ClearMovements();

        Assert.Empty(b.ExpireDue(T0.AddDays(1).AddTicks(-1)));
        Assert.Empty(b.ExpireDue(T0.AddDays(1))); // nothing left in `empty`: recorded silently
        Assert.True(empty.ExpiryRecorded);
        Assert.Equal("soon:2500000", Show(b.ExpireDue(T0.AddDays(2))));
        Assert.Empty(b.ExpireDue(T0.AddDays(9)));
        Assert.Equal("Expire/soon/2500000", Show(b.Movements));
        Assert.True(soon.ExpiryRecorded);
        Assert.Equal((4_000_000L, 1_500_000L, 0L), (soon.Granted, soon.Used, soon.Held));
        Assert.False(never.ExpiryRecorded);
    }

    [Fact]
    public void ExpireDue_skips_buckets_whose_expiry_was_recorded_before_a_reload()
    {
        var reloaded = Grant("old", 4_000_000, expiresAt: T0);
        reloaded.ExpiryRecorded = true;
        Assert.Empty(new FeatureBalance([reloaded], 0).ExpireDue(T0.AddDays(1)));
    }

    [Fact]
    public void ExpireDue_reports_in_burn_order()
    {
        var b = new FeatureBalance([Grant("b", 2, expiresAt: T0.AddDays(2)), Grant("a", 1, expiresAt: T0.AddDays(1)), Allowance("c", 3, expiresAt: T0.AddDays(3))], 0);
        Assert.Equal("c:3,a:1,b:2", Show(b.ExpireDue(T0.AddDays(5))));
    }

    [Fact]
    public void Void_removes_what_is_left_once()
    {
        var g = Grant("g", 5_000_000);
        var b = new FeatureBalance([g, Allowance("allow", 1_000_000)], 0);
        b.Consume(3_000_000, T0); // allow 1, g 2
        b.TryHold(1_000_000, T0, false); // g 1
        b.ClearMovements();
        Assert.Equal(2_000_000, b.Void("g"));
        Assert.True(g.Voided);
        Assert.Equal((3_000_000L, 2_000_000L, 1_000_000L), (g.Granted, g.Used, g.Held));
        Assert.Equal(0, g.Remaining);
        Assert.Equal("Void/g/2000000", Show(b.Movements));
        Assert.Equal(0, b.Void("g"));
        Assert.Single(b.Movements);
        Assert.Equal(1_000_000, b.Granted(T0)); // only the allowance still counts
        Assert.Throws<KeyNotFoundException>(() => b.Void("nope"));
    }

    [Fact]
    public void Void_of_an_expired_recorded_bucket_removes_nothing_more()
    {
        var g = Grant("g", 5_000_000, expiresAt: T0.AddDays(1));
        var b = new FeatureBalance([g], 0);
        Assert.Equal("g:5000000", Show(b.ExpireDue(T0.AddDays(1))));
        Assert.Equal(0, b.Void("g"));
        Assert.True(g.Voided);
        Assert.Equal("Expire/g/5000000", Show(b.Movements));
    }

    [Fact]
    public void Add_records_a_grant_and_refuses_a_duplicate_id()
    {
        var b = new FeatureBalance([], 0);
        b.Add(Grant("g", 2_500_000));
        b.Add(Grant("zero", 0));
        Assert.Equal("Grant/g/2500000", Show(b.Movements));
        Assert.Equal(2_500_000, b.Remaining(T0));
        Assert.Throws<ArgumentException>(() => b.Add(Grant("g", 1)));
        Assert.Throws<ArgumentException>(() => new FeatureBalance([Grant("x", 1), Grant("x", 2)], 0));
    }

    [Fact]
    public void Constructing_records_nothing_and_ClearMovements_forgets()
    {
        var b = new FeatureBalance([Grant("g", 1)], 5);
        Assert.Empty(b.Movements);
        Assert.Equal(5, b.Overage);
        b.Consume(1, T0);
        Assert.Single(b.Movements);
        b.ClearMovements();
        Assert.Empty(b.Movements);
    }

    [Fact]
    public void Bucket_constructor_refuses_impossible_numbers()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Grant("g", 5, used: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Grant("g", 5, held: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Grant("g", 5, used: 3, held: 3));
        Assert.Throws<ArgumentException>(() => Grant("", 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FeatureBalance([], -1));
        Assert.Equal(0, Grant("g", 5, used: 2, held: 3).Remaining);
    }

    [Fact]
    public void Totals_count_only_usable_buckets()
    {
        var now = T0.AddDays(1);
        var b = new FeatureBalance(
        [
            Grant("live", 10, used: 3, held: 2),
            Grant("expired", 100, expiresAt: now, used: 50),
            Grant("future", 1000, effectiveAt: now.AddDays(1)),
        ], 0);
        Assert.Equal((10L, 3L, 2L, 5L), (b.Granted(now), b.Used(now), b.Held(now), b.Remaining(now)));
    }
}
