using Kassa.Core.Balances;
using static Kassa.Core.Tests.Balances.Fixtures;

namespace Kassa.Core.Tests.Balances;

public class HoldTests
{
    private static readonly DateTimeOffset Now = T0.AddDays(1);

    // allow 5 units (priority 0), then grant 3 units.
    private static FeatureBalance TwoBuckets() => new([Grant("grant", 3_000_000), Allowance("allow", 5_000_000)], 0);

    private static (long Granted, long Used, long Held) Numbers(FeatureBalance b, string id)
    {
        var bucket = b.Find(id)!;
        return (bucket.Granted, bucket.Used, bucket.Held);
    }

    [Fact]
    public void TryHold_moves_exact_amounts_from_remaining_to_held_in_burn_order()
    {
        var b = TwoBuckets();
        var parts = b.TryHold(6_000_000, Now, allowOverage: false);
        Assert.Equal("allow:5000000,grant:1000000", Show(parts));
        Assert.Equal((5_000_000L, 0L, 5_000_000L), Numbers(b, "allow"));
        Assert.Equal((3_000_000L, 0L, 1_000_000L), Numbers(b, "grant"));
        Assert.Equal(2_000_000, b.Remaining(Now));
        Assert.Equal(6_000_000, b.Held(Now));
        Assert.Equal(0, b.Used(Now));
        Assert.Equal("Hold/allow/5000000,Hold/grant/1000000", Show(b.Movements));
    }

    [Fact]
    public void TryHold_of_exactly_everything_succeeds_without_overage()
    {
        var b = TwoBuckets();
        Assert.Equal("allow:5000000,grant:3000000", Show(b.TryHold(8_000_000, Now, allowOverage: false)));
        Assert.Equal(0, b.Remaining(Now));
    }

    [Fact]
    public void TryHold_refusal_changes_nothing()
    {
        var b = TwoBuckets();
        b.Consume(1, Now);
        b.ClearMovements();
        var before = Snapshot(b);
        Assert.Null(b.TryHold(8_000_000, Now, allowOverage: false));
        Assert.Equal(before, Snapshot(b));
        Assert.Empty(b.Movements);
        Assert.Equal(0, b.Overage);
    }

    [Fact]
    public void TryHold_with_overage_allowed_returns_an_overage_part_that_nothing_stores()
    {
        var b = TwoBuckets();
        var parts = b.TryHold(9_500_000, Now, allowOverage: true);
        Assert.Equal("allow:5000000,grant:3000000,_:1500000", Show(parts));
        Assert.Equal(0, b.Overage);
        Assert.Equal(8_000_000, b.Held(Now));
        Assert.Equal("Hold/allow/5000000,Hold/grant/3000000,Hold/_/1500000", Show(b.Movements));
    }

    [Fact]
    public void Release_returns_exact_amounts_and_drops_overage_parts()
    {
        var b = TwoBuckets();
        var parts = b.TryHold(9_500_000, Now, allowOverage: true)!;
        b.ClearMovements();
        b.Release(parts);
        Assert.Equal((5_000_000L, 0L, 0L), Numbers(b, "allow"));
        Assert.Equal((3_000_000L, 0L, 0L), Numbers(b, "grant"));
        Assert.Equal(8_000_000, b.Remaining(Now));
        Assert.Equal(0, b.Overage);
        Assert.Equal("Release/allow/5000000,Release/grant/3000000,Release/_/1500000", Show(b.Movements));
    }

    [Fact]
    public void Release_of_one_hold_leaves_another_intact_and_ignores_unknown_buckets()
    {
        var b = TwoBuckets();
        var first = b.TryHold(2_000_000, Now, false)!;
        var second = b.TryHold(4_000_000, Now, false)!;
        Assert.Equal("allow:3000000,grant:1000000", Show(second));
        b.Release([.. first, new Part("gone", 7)]);
        Assert.Equal((5_000_000L, 0L, 3_000_000L), Numbers(b, "allow"));
        Assert.Equal((3_000_000L, 0L, 1_000_000L), Numbers(b, "grant"));
        Assert.Equal(4_000_000, b.Remaining(Now));
    }

    [Fact]
    public void Confirm_below_the_hold_consumes_in_hold_order_and_releases_the_rest()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(6_000_000, Now, false)!;
        b.ClearMovements();
        var consumed = b.Confirm(hold, 4_500_000, Now);
        Assert.Equal("allow:4500000", Show(consumed));
        Assert.Equal((5_000_000L, 4_500_000L, 0L), Numbers(b, "allow"));
        Assert.Equal((3_000_000L, 0L, 0L), Numbers(b, "grant"));
        Assert.Equal(3_500_000, b.Remaining(Now));
        Assert.Equal("Consume/allow/4500000,Release/allow/500000,Release/grant/1000000", Show(b.Movements));
    }

    [Fact]
    public void Confirm_of_exactly_the_hold_consumes_every_part()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(6_000_000, Now, false)!;
        Assert.Equal(Show(hold), Show(b.Confirm(hold, 6_000_000, Now)));
        Assert.Equal((5_000_000L, 5_000_000L, 0L), Numbers(b, "allow"));
        Assert.Equal((3_000_000L, 1_000_000L, 0L), Numbers(b, "grant"));
        Assert.Equal(0, b.Held(Now));
    }

    [Fact]
    public void Confirm_of_zero_releases_everything()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(6_000_000, Now, false)!;
        Assert.Empty(b.Confirm(hold, 0, Now));
        Assert.Equal(8_000_000, b.Remaining(Now));
        Assert.Equal(0, b.Used(Now));
    }

    [Fact]
    public void Confirm_above_the_hold_consumes_the_excess_like_track()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(6_000_000, Now, false)!;
        // 6 held + 1 excess taken from grant's remaining 2: parts merged per bucket.
        Assert.Equal("allow:5000000,grant:2000000", Show(b.Confirm(hold, 7_000_000, Now)));
        Assert.Equal((3_000_000L, 2_000_000L, 0L), Numbers(b, "grant"));
        Assert.Equal(0, b.Overage);
    }

    [Fact]
    public void Confirm_far_above_the_hold_spills_into_overage()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(6_000_000, Now, false)!;
        Assert.Equal("allow:5000000,grant:3000000,_:4000000", Show(b.Confirm(hold, 12_000_000, Now)));
        Assert.Equal(4_000_000, b.Overage);
        Assert.Equal(8_000_000, b.Used(Now));
    }

    [Fact]
    public void Confirm_of_a_hold_with_an_overage_part_adds_the_consumed_part_to_overage()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(9_000_000, Now, true)!;
        Assert.Equal("allow:5000000,grant:3000000,_:1000000", Show(hold));
        b.ClearMovements();
        Assert.Equal("allow:5000000,grant:3000000,_:500000", Show(b.Confirm(hold, 8_500_000, Now)));
        Assert.Equal(500_000, b.Overage);
        Assert.Equal("Consume/allow/5000000,Consume/grant/3000000,Consume/_/500000,Release/_/500000", Show(b.Movements));
    }

    [Fact]
    public void Confirm_beyond_a_hold_with_an_overage_part_adds_the_excess_to_overage_too()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(9_000_000, Now, true)!;
        Assert.Equal("allow:5000000,grant:3000000,_:2000000", Show(b.Confirm(hold, 10_000_000, Now)));
        Assert.Equal(2_000_000, b.Overage);
    }

    [Fact]
    public void Confirm_with_no_parts_consumes_everything_afresh()
    {
        var b = TwoBuckets();
        Assert.Equal("allow:1000000", Show(b.Confirm([], 1_000_000, Now)));
    }

    [Fact]
    public void Confirm_after_the_bucket_was_voided_still_consumes_what_was_held()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(6_000_000, Now, false)!;
        Assert.Equal(2_000_000, b.Void("grant")); // its 2 unheld units go; the held one stays with the lock
        Assert.Equal((1_000_000L, 0L, 1_000_000L), Numbers(b, "grant"));
        Assert.Equal("allow:5000000,grant:1000000", Show(b.Confirm(hold, 6_000_000, Now)));
        Assert.Equal((1_000_000L, 1_000_000L, 0L), Numbers(b, "grant"));
        Assert.Equal(0, b.Find("grant")!.Remaining);
    }

    [Fact]
    public void Confirm_after_a_void_voids_the_released_rest()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(6_000_000, Now, false)!;
        b.Void("grant");
        b.ClearMovements();
        Assert.Equal("allow:5000000,grant:400000", Show(b.Confirm(hold, 5_400_000, Now)));
        // The 0.6 released back to the voided grant leaves the balance at once.
        Assert.Equal((400_000L, 400_000L, 0L), Numbers(b, "grant"));
        Assert.Equal("Consume/allow/5000000,Consume/grant/400000,Release/grant/600000,Void/grant/600000", Show(b.Movements));
        Assert.Equal(0, b.Remaining(Now));
    }

    [Fact]
    public void Release_after_a_void_voids_what_comes_back()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(6_000_000, Now, false)!;
        b.Void("grant");
        b.Release(hold);
        Assert.Equal((0L, 0L, 0L), Numbers(b, "grant"));
        Assert.Equal(5_000_000, b.Remaining(Now));
    }

    [Fact]
    public void Confirm_when_a_held_bucket_no_longer_exists_takes_its_share_afresh()
    {
        var b = TwoBuckets();
        var hold = b.TryHold(6_000_000, Now, false)!;
        // Reloaded without the grant (e.g. it was voided and is no longer loaded).
        var allow = b.Find("allow")!;
        var other = Grant("other", 4_000_000, priority: 20);
        var reloaded = new FeatureBalance([allow, other], 0);
        Assert.Equal("allow:5000000,other:1000000", Show(reloaded.Confirm(hold, 6_000_000, Now)));
        Assert.Equal(0, allow.Held);
    }

    [Fact]
    public void Release_to_an_expired_recorded_bucket_is_recorded_as_expired()
    {
        var b = new FeatureBalance([Grant("short", 4_000_000, expiresAt: T0.AddDays(2))], 0);
        var hold = b.TryHold(3_000_000, Now, false)!;
        Assert.Equal("short:1000000", Show(b.ExpireDue(T0.AddDays(2))));
        b.ClearMovements();
        b.Release(hold);
        Assert.Equal("Release/short/3000000,Expire/short/3000000", Show(b.Movements));
        Assert.Equal(0, b.Remaining(T0.AddDays(2)));
        Assert.Empty(b.ExpireDue(T0.AddDays(3)));
    }
}
