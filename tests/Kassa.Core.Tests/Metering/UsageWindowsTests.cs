using Kassa.Core.Metering;

namespace Kassa.Core.Tests.Metering;

public class UsageWindowsTests
{
    private static DateTimeOffset Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) => new(y, mo, d, h, mi, s, TimeSpan.Zero);

    [Theory]
    [InlineData("hour", UsageWindow.Hour)]
    [InlineData("day", UsageWindow.Day)]
    [InlineData("month", UsageWindow.Month)]
    public void Wire_names_round_trip(string wire, UsageWindow expected)
    {
        Assert.True(UsageWindows.TryParse(wire, out var window));
        Assert.Equal(expected, window);
        Assert.Equal(wire, UsageWindows.ToWire(window));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Day")]
    [InlineData("week")]
    [InlineData("minute")]
    public void Other_windows_are_refused(string? wire) => Assert.False(UsageWindows.TryParse(wire, out _));

    [Fact]
    public void Floors_are_in_utc()
    {
        var t = new DateTimeOffset(2026, 2, 1, 0, 59, 59, 999, TimeSpan.FromHours(2)).AddTicks(9999); // 2026-01-31T22:59:59.9999999Z
        Assert.Equal(Utc(2026, 1, 31, 22), UsageWindows.Floor(t, UsageWindow.Hour));
        Assert.Equal(Utc(2026, 1, 31, 22), UsageWindows.HourFloor(t));
        Assert.Equal(Utc(2026, 1, 31), UsageWindows.Floor(t, UsageWindow.Day));
        Assert.Equal(Utc(2026, 1, 1), UsageWindows.Floor(t, UsageWindow.Month));
        Assert.Equal(TimeSpan.Zero, UsageWindows.Floor(t, UsageWindow.Month).Offset);
        // A boundary is its own floor.
        Assert.Equal(Utc(2026, 3, 1), UsageWindows.Floor(Utc(2026, 3, 1), UsageWindow.Month));
        Assert.Equal(Utc(2026, 3, 1, 5), UsageWindows.HourFloor(Utc(2026, 3, 1, 5)));
    }

    [Fact]
    public void Next_is_the_end_of_the_containing_window()
    {
        Assert.Equal(Utc(2026, 1, 31, 11), UsageWindows.Next(Utc(2026, 1, 31, 10), UsageWindow.Hour));
        Assert.Equal(Utc(2026, 2, 1), UsageWindows.Next(Utc(2026, 1, 31, 23), UsageWindow.Hour));
        Assert.Equal(Utc(2026, 2, 1), UsageWindows.Next(Utc(2026, 1, 31), UsageWindow.Day));
        Assert.Equal(Utc(2026, 2, 1), UsageWindows.Next(Utc(2026, 1, 31, 17, 30), UsageWindow.Month));
        Assert.Equal(Utc(2026, 3, 1), UsageWindows.Next(Utc(2026, 2, 1), UsageWindow.Month));
        Assert.Equal(Utc(2028, 3, 1), UsageWindows.Next(Utc(2028, 2, 29), UsageWindow.Day));
        Assert.Equal(Utc(2027, 1, 1), UsageWindows.Next(Utc(2026, 12, 15), UsageWindow.Month));
        Assert.Throws<ArgumentOutOfRangeException>(() => UsageWindows.Next(DateTimeOffset.MaxValue, UsageWindow.Month));
    }

    [Fact]
    public void A_range_must_not_be_empty()
    {
        Assert.Equal("from must be before to", UsageWindows.ValidateRange(Utc(2026, 1, 1), Utc(2026, 1, 1), UsageWindow.Hour));
        Assert.Equal("from must be before to", UsageWindows.ValidateRange(Utc(2026, 1, 2), Utc(2026, 1, 1), UsageWindow.Day));
        Assert.Null(UsageWindows.ValidateRange(Utc(2026, 1, 1), Utc(2026, 1, 1).AddTicks(1), UsageWindow.Month));
    }

    [Fact]
    public void A_range_spans_at_most_10000_windows()
    {
        var from = Utc(2026, 1, 1);
        Assert.Null(UsageWindows.ValidateRange(from, from.AddHours(10_000), UsageWindow.Hour));
        Assert.Equal(
            "the range from 2026-01-01T00:00:00Z to 2027-02-21T17:00:00Z spans 10,001 hour windows; at most 10,000 are allowed",
            UsageWindows.ValidateRange(from, from.AddHours(10_001), UsageWindow.Hour));
        // Partial windows at either end count.
        Assert.NotNull(UsageWindows.ValidateRange(from.AddMinutes(30), from.AddHours(10_000).AddMinutes(1), UsageWindow.Hour));
        Assert.Null(UsageWindows.ValidateRange(from, from.AddDays(10_000), UsageWindow.Day));
        Assert.NotNull(UsageWindows.ValidateRange(from, from.AddDays(10_000).AddTicks(1), UsageWindow.Day));
        Assert.Null(UsageWindows.ValidateRange(from, from.AddMonths(10_000), UsageWindow.Month));
        Assert.NotNull(UsageWindows.ValidateRange(from, from.AddMonths(10_000).AddTicks(1), UsageWindow.Month));
        Assert.Null(UsageWindows.ValidateRange(from.AddDays(20), from.AddMonths(10_000), UsageWindow.Month));
        Assert.NotNull(UsageWindows.ValidateRange(from.AddDays(20), from.AddMonths(10_000).AddTicks(1), UsageWindow.Month));
    }
}
