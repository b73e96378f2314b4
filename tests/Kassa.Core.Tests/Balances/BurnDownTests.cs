using Kassa.Core.Balances;
using static Kassa.Core.Tests.Balances.Fixtures;

namespace Kassa.Core.Tests.Balances;

public class BurnDownTests
{
    private static string Order(DateTimeOffset now, params Bucket[] buckets) =>
        string.Join(",", new FeatureBalance(buckets, 0).BurnOrder(now).Select(b => b.Id));

    [Fact]
    public void Allowance_priority_0_burns_before_grants_even_if_they_expire_sooner_or_are_older()
    {
        var allowance = Allowance("allow", 5 * Unit, expiresAt: T0.AddDays(30), createdAt: T0.AddDays(1));
        var grant = Grant("grant", 5 * Unit, expiresAt: T0.AddDays(2), createdAt: T0.AddDays(-10));
        Assert.Equal("allow,grant", Order(T0.AddDays(1), grant, allowance));
    }

    [Fact]
    public void Lower_priority_number_burns_first()
    {
        Assert.Equal("p5,p10,p20", Order(T0, Grant("p20", 1, priority: 20), Grant("p10", 1, priority: 10), Grant("p5", 1, priority: 5)));
    }

    [Fact]
    public void Among_equal_priority_earlier_expiry_first_and_never_expiring_last()
    {
        var never = Grant("never", 1, createdAt: T0.AddDays(-100));
        var late = Grant("late", 1, expiresAt: T0.AddDays(20));
        var soon = Grant("soon", 1, expiresAt: T0.AddDays(3));
        Assert.Equal("soon,late,never", Order(T0, never, late, soon));
    }

    [Fact]
    public void Promotional_before_paid_when_priority_and_expiry_are_equal()
    {
        var paid = Grant("paid", 1, category: GrantCategory.Paid, expiresAt: T0.AddDays(5), createdAt: T0.AddDays(-5));
        var promo = Grant("promo", 1, category: GrantCategory.Promotional, expiresAt: T0.AddDays(5));
        Assert.Equal("promo,paid", Order(T0, paid, promo));
    }

    [Fact]
    public void Expiry_outranks_category()
    {
        var paidSoon = Grant("paid_soon", 1, category: GrantCategory.Paid, expiresAt: T0.AddDays(1));
        var promoLate = Grant("promo_late", 1, category: GrantCategory.Promotional, expiresAt: T0.AddDays(2));
        Assert.Equal("paid_soon,promo_late", Order(T0, promoLate, paidSoon));
    }

    [Fact]
    public void Oldest_first_then_id_ordinal()
    {
        var newer = Grant("a_newer", 1, createdAt: T0.AddSeconds(1));
        var older = Grant("z_older", 1, createdAt: T0);
        // Ordinal: uppercase sorts before lowercase ("B" 0x42 < "a" 0x61), unlike culture-aware order.
        var tieLower = Grant("a", 1, createdAt: T0.AddSeconds(2));
        var tieUpper = Grant("B", 1, createdAt: T0.AddSeconds(2));
        Assert.Equal("z_older,a_newer,B,a", Order(T0.AddSeconds(2), tieLower, newer, tieUpper, older));
    }

    [Fact]
    public void Compare_is_a_total_order_independent_of_input_order()
    {
        Bucket[] buckets =
        [
            Allowance("allow", 1), Grant("g1", 1), Grant("g2", 1), Grant("g3", 1, category: GrantCategory.Paid),
            Grant("g4", 1, expiresAt: T0.AddDays(1)), Grant("g5", 1, priority: 0), Grant("g6", 1, createdAt: T0.AddTicks(-1)),
        ];
        var expected = Order(T0, buckets);
        Assert.Equal(expected, Order(T0, [.. buckets.Reverse()]));
        Assert.Equal(expected, Order(T0, [.. buckets.OrderBy(b => b.Id.GetHashCode(StringComparison.Ordinal))]));
        foreach (var a in buckets)
            foreach (var b in buckets)
                Assert.Equal(Math.Sign(BurnDown.Compare(a, b)), -Math.Sign(BurnDown.Compare(b, a)));
    }

    [Fact]
    public void BurnOrder_lists_only_usable_buckets_but_keeps_empty_ones()
    {
        var now = T0.AddDays(10);
        var empty = Grant("empty", 2, used: 1, held: 1);
        var expired = Grant("expired", 5, expiresAt: now);
        var future = Grant("future", 5, effectiveAt: now.AddTicks(1));
        var voided = new Bucket("voided", BucketKind.Grant, 10, GrantCategory.Paid, 5, 0, 0, T0, null, T0, voided: true);
        var live = Grant("live", 5, effectiveAt: now);
        Assert.Equal("empty,live", Order(now, expired, future, voided, live, empty));
    }

    // allow (priority 0) 10 units → promo_soon 2.5 → paid_soon 1 (same expiry, paid after promo)
    // → promo_never 3.000001 (never expires, last). Total 16.500001 units.
    [Theory]
    [InlineData(1L, "allow:1")]
    [InlineData(10_000_000L, "allow:10000000")]
    [InlineData(10_000_001L, "allow:10000000,promo_soon:1")]
    [InlineData(12_500_000L, "allow:10000000,promo_soon:2500000")]
    [InlineData(13_000_000L, "allow:10000000,promo_soon:2500000,paid_soon:500000")]
    [InlineData(16_500_001L, "allow:10000000,promo_soon:2500000,paid_soon:1000000,promo_never:3000001")]
    [InlineData(16_500_002L, "allow:10000000,promo_soon:2500000,paid_soon:1000000,promo_never:3000001,_:1")]
    [InlineData(20_000_000L, "allow:10000000,promo_soon:2500000,paid_soon:1000000,promo_never:3000001,_:3499999")]
    public void Consume_takes_exact_amounts_in_burn_order_then_overage(long amount, string expected)
    {
        var balance = FourBuckets();
        var parts = balance.Consume(amount, T0.AddDays(1));
        Assert.Equal(expected, Show(parts));
        Assert.Equal(amount, parts.Sum(p => p.Amount));
        Assert.Equal(parts.Where(p => p.BucketId is null).Sum(p => p.Amount), balance.Overage);
        foreach (var part in parts.Where(p => p.BucketId is not null))
            Assert.Equal(part.Amount, balance.Find(part.BucketId!)!.Used);
        Assert.Equal(Math.Max(0, 16_500_001 - amount), balance.Remaining(T0.AddDays(1)));
        Assert.Equal(string.Join(",", parts.Select(p => $"Consume/{p.BucketId ?? "_"}/{p.Amount}")), Show(balance.Movements));
    }

    [Fact]
    public void Consecutive_consumes_continue_where_the_last_stopped()
    {
        var balance = FourBuckets();
        var now = T0.AddDays(1);
        Assert.Equal("allow:9999999", Show(balance.Consume(9_999_999, now)));
        Assert.Equal("allow:1,promo_soon:2499999", Show(balance.Consume(2_500_000, now)));
        Assert.Equal("promo_soon:1,paid_soon:1000000,promo_never:3000001,_:7", Show(balance.Consume(4_000_009, now)));
        Assert.Equal("_:5", Show(balance.Consume(5, now)));
        Assert.Equal(12, balance.Overage);
        Assert.Equal(0, balance.Remaining(now));
        Assert.Equal(16_500_001, balance.Used(now));
    }

    [Fact]
    public void Consume_skips_held_units_and_expired_buckets()
    {
        var balance = FourBuckets();
        balance.Find("allow")!.Held = 9_000_000;
        // Past promo_soon and paid_soon's expiry (day 5): only allow's unheld unit and promo_never count.
        var parts = balance.Consume(2_000_000, T0.AddDays(5));
        Assert.Equal("allow:1000000,promo_never:1000000", Show(parts));
        Assert.Equal(9_000_000, balance.Find("allow")!.Held);
        Assert.Equal(0, balance.Find("promo_soon")!.Used);
    }

    [Fact]
    public void Consume_of_zero_changes_nothing()
    {
        var balance = FourBuckets();
        Assert.Empty(balance.Consume(0, T0));
        Assert.Empty(balance.Movements);
        Assert.Throws<ArgumentOutOfRangeException>(() => balance.Consume(-1, T0));
    }

    internal static FeatureBalance FourBuckets() => new(
    [
        Grant("promo_never", 3_000_001, createdAt: T0.AddDays(-30)),
        Grant("paid_soon", 1_000_000, category: GrantCategory.Paid, expiresAt: T0.AddDays(5), createdAt: T0.AddDays(-20)),
        Allowance("allow", 10_000_000, expiresAt: T0.AddDays(31)),
        Grant("promo_soon", 2_500_000, expiresAt: T0.AddDays(5)),
    ], 0);
}
