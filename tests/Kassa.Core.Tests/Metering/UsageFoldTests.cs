using Kassa.Core.Metering;
using static Kassa.Core.Tests.Metering.MeteringTestJson;

namespace Kassa.Core.Tests.Metering;

public class UsageFoldTests
{
    private static DateTimeOffset Utc(int y, int mo, int d, int h = 0) => new(y, mo, d, h, 0, 0, TimeSpan.Zero);

    private static (DateTimeOffset, string, RollupCell) Hour(DateTimeOffset hour, string group, params long[] values)
    {
        var cell = new RollupCell();
        for (var i = 0; i < values.Length; i++) cell.Add(values[i], hour.AddMinutes(i));
        return (hour, group, cell);
    }

    private static string Show(IReadOnlyList<UsageRow> rows) =>
        string.Join(" | ", rows.Select(r => $"{r.WindowStart:yyyy-MM-dd'T'HH} {r.WindowEnd:yyyy-MM-dd'T'HH} '{r.GroupKey}' n={r.Cell.Count} sum={r.Cell.Sum} min={r.Cell.Min} max={r.Cell.Max} latest={r.Cell.LatestValue}"));

    // Around the January → February boundary, two groups.
    private static readonly (DateTimeOffset, string, RollupCell)[] Hours =
    [
        Hour(Utc(2026, 1, 30, 23), "", 1),
        Hour(Utc(2026, 1, 31, 0), "", 2, 3),
        Hour(Utc(2026, 1, 31, 23), "", 4),
        Hour(Utc(2026, 1, 31, 23), "b", 40),
        Hour(Utc(2026, 2, 1, 0), "", 5),
        Hour(Utc(2026, 2, 1, 0), "a", 50, -50),
        Hour(Utc(2026, 2, 28, 23), "", 6),
        Hour(Utc(2026, 3, 1, 0), "", 7),
    ];

    [Fact]
    public void Hour_windows_keep_each_cell()
    {
        var rows = UsageFold.Fold(Hours, UsageWindow.Hour, Utc(2026, 1, 31, 0), Utc(2026, 2, 1, 1));
        Assert.Equal(
            "2026-01-31T00 2026-01-31T01 '' n=2 sum=5 min=2 max=3 latest=3"
            + " | 2026-01-31T23 2026-02-01T00 '' n=1 sum=4 min=4 max=4 latest=4"
            + " | 2026-01-31T23 2026-02-01T00 'b' n=1 sum=40 min=40 max=40 latest=40"
            + " | 2026-02-01T00 2026-02-01T01 '' n=1 sum=5 min=5 max=5 latest=5"
            + " | 2026-02-01T00 2026-02-01T01 'a' n=2 sum=0 min=-50 max=50 latest=-50",
            Show(rows));
    }

    [Fact]
    public void Day_windows_split_at_midnight_utc()
    {
        var rows = UsageFold.Fold(Hours, UsageWindow.Day, Utc(2026, 1, 30), Utc(2026, 3, 2));
        Assert.Equal(
            "2026-01-30T00 2026-01-31T00 '' n=1 sum=1 min=1 max=1 latest=1"
            + " | 2026-01-31T00 2026-02-01T00 '' n=3 sum=9 min=2 max=4 latest=4"
            + " | 2026-01-31T00 2026-02-01T00 'b' n=1 sum=40 min=40 max=40 latest=40"
            + " | 2026-02-01T00 2026-02-02T00 '' n=1 sum=5 min=5 max=5 latest=5"
            + " | 2026-02-01T00 2026-02-02T00 'a' n=2 sum=0 min=-50 max=50 latest=-50"
            + " | 2026-02-28T00 2026-03-01T00 '' n=1 sum=6 min=6 max=6 latest=6"
            + " | 2026-03-01T00 2026-03-02T00 '' n=1 sum=7 min=7 max=7 latest=7",
            Show(rows));
    }

    [Fact]
    public void Month_windows_go_from_january_31_to_february()
    {
        var rows = UsageFold.Fold(Hours, UsageWindow.Month, Utc(2026, 1, 1), Utc(2026, 4, 1));
        Assert.Equal(
            "2026-01-01T00 2026-02-01T00 '' n=4 sum=10 min=1 max=4 latest=4"
            + " | 2026-01-01T00 2026-02-01T00 'b' n=1 sum=40 min=40 max=40 latest=40"
            + " | 2026-02-01T00 2026-03-01T00 '' n=2 sum=11 min=5 max=6 latest=6"
            + " | 2026-02-01T00 2026-03-01T00 'a' n=2 sum=0 min=-50 max=50 latest=-50"
            + " | 2026-03-01T00 2026-04-01T00 '' n=1 sum=7 min=7 max=7 latest=7",
            Show(rows));
    }

    [Fact]
    public void Hours_outside_from_to_are_ignored_and_windows_keep_calendar_bounds()
    {
        // from is included, to is excluded; the January window still reports its calendar bounds.
        var rows = UsageFold.Fold(Hours, UsageWindow.Month, Utc(2026, 1, 31, 0), Utc(2026, 2, 28, 23));
        Assert.Equal(
            "2026-01-01T00 2026-02-01T00 '' n=3 sum=9 min=2 max=4 latest=4"
            + " | 2026-01-01T00 2026-02-01T00 'b' n=1 sum=40 min=40 max=40 latest=40"
            + " | 2026-02-01T00 2026-03-01T00 '' n=1 sum=5 min=5 max=5 latest=5"
            + " | 2026-02-01T00 2026-03-01T00 'a' n=2 sum=0 min=-50 max=50 latest=-50",
            Show(rows));
        Assert.Empty(UsageFold.Fold(Hours, UsageWindow.Day, Utc(2026, 3, 2), Utc(2026, 4, 1)));
    }

    [Fact]
    public void Only_windows_with_data_appear_ordered_by_start_then_group_ordinal()
    {
        var rows = UsageFold.Fold(
            [Hour(Utc(2026, 5, 3, 1), "b", 1), Hour(Utc(2026, 5, 1, 1), "a", 1), Hour(Utc(2026, 5, 3, 2), "B", 1), Hour(Utc(2026, 5, 3, 3), "", 1), (Utc(2026, 5, 2, 1), "a", new RollupCell())],
            UsageWindow.Day, Utc(2026, 5, 1), Utc(2026, 6, 1));
        Assert.Equal(
            [(Utc(2026, 5, 1), "a"), (Utc(2026, 5, 3), ""), (Utc(2026, 5, 3), "B"), (Utc(2026, 5, 3), "b")],
            rows.Select(r => (r.WindowStart, r.GroupKey)));
    }

    [Fact]
    public void Input_cells_are_not_changed()
    {
        var before = Hours.Select(h => Snap(h.Item3)).ToList();
        UsageFold.Fold(Hours, UsageWindow.Month, Utc(2026, 1, 1), Utc(2026, 4, 1));
        Assert.Equal(before, Hours.Select(h => Snap(h.Item3)));
    }
}
