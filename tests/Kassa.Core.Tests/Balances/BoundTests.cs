using Kassa.Core.Balances;
using static Kassa.Core.Tests.Balances.Fixtures;

namespace Kassa.Core.Tests.Balances;

/// <summary>
/// Totals stay within Micro.MaxAbs: at the bound an operation works, one micro-unit past it throws
/// BalanceOverflowException before anything changes (buckets, overage and movements as they were).
/// </summary>
public class BoundTests
{
    private const long Max = Micro.MaxAbs;

    private static FeatureBalance WithAllowance(long granted, long overage = 0, long used = 0) =>
        new([Allowance("a", granted, used: used)], overage);

    private static void AssertRefusedUnchanged(FeatureBalance balance, Action operation)
    {
        var before = Snapshot(balance);
        var moves = Show(balance.Movements);
        Assert.Throws<BalanceOverflowException>(operation);
        Assert.Equal(before, Snapshot(balance));
        Assert.Equal(moves, Show(balance.Movements));
    }

    [Fact]
    public void Consume_reaches_the_bound_and_refuses_one_past_it_without_a_change()
    {
        var balance = WithAllowance(10 * Unit);
        balance.Consume(Max - 1, T0);
        Assert.Equal(Max - 1, balance.Usage(T0));
        balance.Consume(1, T0);
        Assert.Equal((Max, Max - 10 * Unit), (balance.Usage(T0), balance.Overage));
        AssertRefusedUnchanged(balance, () => balance.Consume(1, T0));
        AssertRefusedUnchanged(balance, () => balance.Consume(Max, T0));
        // A correction still works and makes room again.
        balance.Correct(1, T0);
        balance.Consume(1, T0);
        Assert.Equal(Max, balance.Usage(T0));
    }

    [Fact]
    public void Holds_and_confirms_count_toward_usage_and_refuse_past_the_bound()
    {
        var balance = WithAllowance(10 * Unit, overage: Max - 10 * Unit, used: 10 * Unit);
        Assert.Equal(Max, balance.Usage(T0));
        AssertRefusedUnchanged(balance, () => balance.TryHold(1, T0, allowOverage: true));

        var room = WithAllowance(10 * Unit, overage: Max - 20 * Unit);
        var parts = room.TryHold(5 * Unit, T0, allowOverage: true)!;
        room.ClearMovements();
        AssertRefusedUnchanged(room, () => room.Confirm(parts, 20 * Unit + 1, T0));
        room.Confirm(parts, 20 * Unit, T0);
        Assert.Equal(Max, room.Usage(T0));
    }

    [Fact]
    public void Grants_add_up_to_the_bound_and_one_more_is_refused()
    {
        var balance = WithAllowance(10 * Unit);
        balance.Add(Grant("g1", Max - 10 * Unit));
        Assert.Equal(Max, balance.Granted(T0));
        AssertRefusedUnchanged(balance, () => balance.Add(Grant("g2", 1)));
        // Not yet effective grants count too: they will be in play.
        AssertRefusedUnchanged(balance, () => balance.Add(Grant("g3", 1, effectiveAt: T0.AddDays(1))));
        // A voided bucket frees its room.
        balance.Void("g1");
        balance.Add(Grant("g4", Max - 10 * Unit));
        Assert.Equal(Max, balance.Granted(T0));
    }

    [Fact]
    public void Grant_room_excludes_buckets_expiring_by_the_given_time()
    {
        var balance = new FeatureBalance([Allowance("old", Max, expiresAt: T0.AddDays(30))], 0);
        Assert.Throws<BalanceOverflowException>(() => balance.EnsureGrantRoom(1, null));
        balance.EnsureGrantRoom(Max, T0.AddDays(30));
    }

    [Fact]
    public void Set_used_takes_the_bound_and_refuses_past_it()
    {
        var balance = WithAllowance(10 * Unit);
        balance.SetUsed(Max, T0);
        Assert.Equal((Max, Max - 10 * Unit), (balance.Usage(T0), balance.Overage));
        AssertRefusedUnchanged(balance, () => balance.SetUsed(Max + 1, T0));
    }

    [Fact]
    public void Usage_is_used_plus_overage()
    {
        var balance = WithAllowance(10 * Unit);
        balance.Consume(60 * Unit, T0);
        Assert.Equal((10 * Unit, 50 * Unit, 60 * Unit), (balance.Used(T0), balance.Overage, balance.Usage(T0)));
    }

    [Theory]
    [InlineData("9000000000000", true, true, null)]
    [InlineData("-9000000000000", true, true, null)]
    [InlineData("9000000000000.000001", true, true, Micro.RangeMessage)]
    [InlineData("-9000000000000.000001", true, true, Micro.RangeMessage)]
    [InlineData("0.0000001", true, true, Micro.RangeMessage)]
    [InlineData("0", false, false, "must be greater than zero")]
    [InlineData("-1", true, false, "must be zero or more")]
    [InlineData("0", true, false, null)]
    public void One_bound_for_every_quantity(string text, bool allowZero, bool allowNegative, string? expected)
    {
        var value = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(expected, Micro.Problem(value, allowZero, allowNegative, out _));
    }

    [Theory]
    [InlineData(FeatureType.CreditSystem, "credit_system")]
    [InlineData(OveragePolicy.Billed, "billed")]
    [InlineData(LockStatus.Expired, "expired")]
    [InlineData(BucketKind.Rollover, "rollover")]
    [InlineData(GrantCategory.Promotional, "promotional")]
    [InlineData(MovementType.Adjust, "adjust")]
    public void The_vocabulary_round_trips_through_its_snake_case_strings(object value, string text)
    {
        Assert.Equal(text, System.Text.Json.JsonSerializer.Serialize(value, value.GetType()).Trim('"'));
        var wire = typeof(BalanceWords).GetMethod(nameof(BalanceWords.Wire))!.MakeGenericMethod(value.GetType());
        Assert.Equal(text, wire.Invoke(null, [value]));
        var parse = typeof(BalanceWords).GetMethod(nameof(BalanceWords.Parse))!.MakeGenericMethod(value.GetType());
        Assert.Equal(value, parse.Invoke(null, [text]));
    }

    [Fact]
    public void Unknown_or_differently_cased_words_do_not_parse()
    {
        Assert.False(BalanceWords.TryParse<OveragePolicy>("Billed", out _));
        Assert.False(BalanceWords.TryParse<OveragePolicy>("boolean", out _));
        Assert.Throws<FormatException>(() => BalanceWords.Parse<LockStatus>("gone"));
        Assert.Throws<System.Text.Json.JsonException>(() => System.Text.Json.JsonSerializer.Deserialize<OveragePolicy>("1"));
    }
}
