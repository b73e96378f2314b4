using Kassa.Core.Metering;
using static Kassa.Core.Tests.Metering.MeteringTestJson;

namespace Kassa.Core.Tests.Metering;

public class RollupCellTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 31, 10, 0, 0, TimeSpan.Zero);

    private static RollupCell Cell(params (long Value, int Minute)[] events)
    {
        var cell = new RollupCell();
        foreach (var (value, minute) in events) cell.Add(value, T0.AddMinutes(minute));
        return cell;
    }

    [Fact]
    public void An_empty_cell_holds_the_identities()
    {
        var empty = new RollupCell();
        Assert.True(empty.IsEmpty);
        Assert.Equal((0L, 0L, long.MaxValue, long.MinValue, long.MinValue, DateTimeOffset.MinValue), Snap(empty));
        foreach (var a in new[] { Aggregation.Count, Aggregation.Sum, Aggregation.Min, Aggregation.Max, Aggregation.Latest })
            Assert.Equal(0m, empty.Value(a));
    }

    [Fact]
    public void Add_keeps_count_sum_min_max_and_latest()
    {
        var cell = Cell((5_000_000, 10), (-2_000_000, 30), (7_500_000, 20));
        Assert.False(cell.IsEmpty);
        Assert.Equal((3L, 10_500_000L, -2_000_000L, 7_500_000L, -2_000_000L, T0.AddMinutes(30)), Snap(cell));
        Assert.Equal(3m, cell.Value(Aggregation.Count));
        Assert.Equal(10.5m, cell.Value(Aggregation.Sum));
        Assert.Equal(-2m, cell.Value(Aggregation.Min));
        Assert.Equal(7.5m, cell.Value(Aggregation.Max));
        Assert.Equal(-2m, cell.Value(Aggregation.Latest));
        // Normalised decimals: 10.5, not 10.500000.
        Assert.Equal("10.5", cell.Value(Aggregation.Sum).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Count_is_a_number_of_events_not_micro_units()
    {
        var cell = Cell((250_000, 0), (250_000, 1));
        Assert.Equal(2m, cell.Value(Aggregation.Count));
        Assert.Equal(0.5m, cell.Value(Aggregation.Sum));
    }

    [Fact]
    public void On_an_equal_timestamp_the_greater_value_is_latest_whatever_the_order()
    {
        Assert.Equal(9L, Cell((9, 5), (3, 5)).LatestValue);
        Assert.Equal(9L, Cell((3, 5), (9, 5)).LatestValue);
        // A later timestamp wins even with a smaller value.
        Assert.Equal(1L, Cell((9, 5), (1, 6)).LatestValue);
    }

    [Fact]
    public void Equal_instants_in_different_offsets_are_one_timestamp()
    {
        var cell = new RollupCell();
        cell.Add(3, new DateTimeOffset(2026, 1, 31, 12, 0, 0, TimeSpan.FromHours(2)));
        cell.Add(9, T0);
        Assert.Equal(9L, cell.LatestValue);
        Assert.Equal(TimeSpan.Zero, cell.LatestAt.Offset);
        Assert.Equal(T0, cell.LatestAt);
    }

    [Fact]
    public void Merge_is_commutative_and_leaves_its_argument_alone()
    {
        var a = Cell((5, 10), (1, 50));
        var b = Cell((-4, 50), (8, 20), (2, 40));
        var ab = a.Clone();
        ab.Merge(b);
        var ba = b.Clone();
        ba.Merge(a);
        Assert.Equal((5L, 12L, -4L, 8L, 1L, T0.AddMinutes(50)), Snap(ab));
        Assert.Equal(Snap(ab), Snap(ba));
        Assert.Equal((3L, 6L, -4L, 8L, -4L, T0.AddMinutes(50)), Snap(b));
        Assert.Equal(Snap(Cell((5, 10), (1, 50), (-4, 50), (8, 20), (2, 40))), Snap(ab));
    }

    [Fact]
    public void The_empty_cell_is_the_identity_of_merge()
    {
        var a = Cell((5, 10), (1, 50));
        var left = new RollupCell();
        left.Merge(a);
        var right = a.Clone();
        right.Merge(new RollupCell());
        Assert.Equal(Snap(a), Snap(left));
        Assert.Equal(Snap(a), Snap(right));
    }

    [Fact]
    public void Merging_a_cell_into_itself_doubles_it()
    {
        var a = Cell((5, 10), (1, 50));
        a.Merge(a);
        Assert.Equal((4L, 12L, 1L, 5L, 1L, T0.AddMinutes(50)), Snap(a));
    }

    [Fact]
    public void Overflow_throws_instead_of_wrapping()
    {
        var cell = RollupCell.FromStored(1, long.MaxValue - 1, 0, 0, 0, T0);
        Assert.Throws<OverflowException>(() => cell.Add(2, T0));
        var other = RollupCell.FromStored(1, 2, 2, 2, 2, T0);
        Assert.Throws<OverflowException>(() => cell.Merge(other));
    }

    [Fact]
    public void Unique_count_is_not_computed_from_cells()
    {
        Assert.Throws<InvalidOperationException>(() => Cell((1, 0)).Value(Aggregation.UniqueCount));
        Assert.Throws<InvalidOperationException>(() => new RollupCell().Value(Aggregation.UniqueCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cell((1, 0)).Value((Aggregation)42));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RollupCell().Value((Aggregation)42));
    }

    [Fact]
    public void Stored_columns_round_trip()
    {
        var a = Cell((5, 10), (1, 50));
        var stored = RollupCell.FromStored(a.Count, a.Sum, a.Min, a.Max, a.LatestValue, a.LatestAt.ToOffset(TimeSpan.FromHours(-5)));
        Assert.Equal(Snap(a), Snap(stored));
        Assert.Equal(TimeSpan.Zero, stored.LatestAt.Offset);
        Assert.True(RollupCell.FromStored(0, 99, 1, 2, 3, T0).IsEmpty);
        Assert.Equal(Snap(new RollupCell()), Snap(RollupCell.FromStored(0, 99, 1, 2, 3, T0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => RollupCell.FromStored(-1, 0, 0, 0, 0, T0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RollupCell.FromStored(1, 0, 5, 4, 0, T0));
    }
}
