using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
// FsCheck has an Interval type of its own.
using Interval = Kassa.Core.Periods.Interval;
// Inside Kassa.Core.Tests, `Periods` would name this test namespace, not the class.
using PeriodMath = Kassa.Core.Periods.Periods;

namespace Kassa.Core.Tests.Periods;

public class PeriodsTests
{
    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.None);

    private static string Show(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture);

    [Theory]
    // Monthly from Jan 31: clamped to the month's end, computed from the anchor each time.
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, 0L, "2026-01-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, 1L, "2026-02-28T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, 2L, "2026-03-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, 3L, "2026-04-30T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, 4L, "2026-05-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, 13L, "2027-02-28T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, 25L, "2028-02-29T10:00:00+00:00")]
    [InlineData("2028-01-31T10:00:00Z", Interval.Month, 1, 1L, "2028-02-29T10:00:00+00:00")]
    [InlineData("2026-01-30T10:00:00Z", Interval.Month, 1, 1L, "2026-02-28T10:00:00+00:00")]
    [InlineData("2026-01-15T10:00:00Z", Interval.Month, 1, 1L, "2026-02-15T10:00:00+00:00")]
    [InlineData("2026-12-31T23:59:59.9999999Z", Interval.Month, 1, 2L, "2027-02-28T23:59:59.9999999+00:00")]
    // Every 3 months from Jan 31.
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 3, 1L, "2026-04-30T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 3, 2L, "2026-07-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 3, 3L, "2026-10-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 3, 4L, "2027-01-31T10:00:00+00:00")]
    // Yearly from Feb 29: Feb 28 in common years, Feb 29 again in leap years.
    [InlineData("2028-02-29T00:00:00Z", Interval.Year, 1, 1L, "2029-02-28T00:00:00+00:00")]
    [InlineData("2028-02-29T00:00:00Z", Interval.Year, 1, 2L, "2030-02-28T00:00:00+00:00")]
    [InlineData("2028-02-29T00:00:00Z", Interval.Year, 1, 3L, "2031-02-28T00:00:00+00:00")]
    [InlineData("2028-02-29T00:00:00Z", Interval.Year, 1, 4L, "2032-02-29T00:00:00+00:00")]
    [InlineData("2028-02-29T00:00:00Z", Interval.Year, 4, 1L, "2032-02-29T00:00:00+00:00")]
    [InlineData("2028-02-29T00:00:00Z", Interval.Year, 1, 72L, "2100-02-28T00:00:00+00:00")] // 2100 is not a leap year
    [InlineData("2026-06-15T08:30:00Z", Interval.Year, 2, 3L, "2032-06-15T08:30:00+00:00")]
    // Weekly, daily, hourly: fixed lengths in UTC (no daylight saving).
    [InlineData("2026-01-01T12:00:00Z", Interval.Week, 1, 2L, "2026-01-15T12:00:00+00:00")]
    [InlineData("2026-01-01T12:00:00Z", Interval.Week, 2, 3L, "2026-02-12T12:00:00+00:00")]
    [InlineData("2026-02-27T23:30:00Z", Interval.Day, 1, 2L, "2026-03-01T23:30:00+00:00")]
    [InlineData("2028-02-27T23:30:00Z", Interval.Day, 1, 2L, "2028-02-29T23:30:00+00:00")]
    [InlineData("2026-03-28T00:00:00Z", Interval.Day, 7, 1L, "2026-04-04T00:00:00+00:00")]
    [InlineData("2026-01-01T23:15:00Z", Interval.Hour, 1, 1L, "2026-01-02T00:15:00+00:00")]
    [InlineData("2026-01-01T23:15:00Z", Interval.Hour, 6, 5L, "2026-01-03T05:15:00+00:00")]
    [InlineData("2026-01-01T00:00:00Z", Interval.Hour, 1, 1_000_000L, "2140-01-30T16:00:00+00:00")]
    // An anchor with an offset counts in UTC: Jan 31 23:00 −05:00 is Feb 1 04:00 UTC.
    [InlineData("2026-01-31T23:00:00-05:00", Interval.Month, 1, 1L, "2026-03-01T04:00:00+00:00")]
    [InlineData("2026-01-31T23:00:00-05:00", Interval.Month, 1, 0L, "2026-02-01T04:00:00+00:00")]
    public void Boundary_table(string anchor, Interval interval, int count, long k, string expected)
    {
        var boundary = PeriodMath.Boundary(At(anchor), interval, count, k);
        Assert.Equal(expected, Show(boundary));
        Assert.Equal(TimeSpan.Zero, boundary.Offset);
    }

    [Theory]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, "2026-03-15T00:00:00Z", "2026-02-28T10:00:00+00:00", "2026-03-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, "2026-02-28T10:00:00Z", "2026-02-28T10:00:00+00:00", "2026-03-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, "2026-02-28T09:59:59.9999999Z", "2026-01-31T10:00:00+00:00", "2026-02-28T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, "2026-01-31T10:00:00Z", "2026-01-31T10:00:00+00:00", "2026-02-28T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, "2026-03-31T09:00:00Z", "2026-02-28T10:00:00+00:00", "2026-03-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, "2026-04-30T10:00:00Z", "2026-04-30T10:00:00+00:00", "2026-05-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 3, "2026-07-31T10:00:00Z", "2026-07-31T10:00:00+00:00", "2026-10-31T10:00:00+00:00")]
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 3, "2026-07-31T09:00:00Z", "2026-04-30T10:00:00+00:00", "2026-07-31T10:00:00+00:00")]
    [InlineData("2028-02-29T00:00:00Z", Interval.Year, 1, "2029-03-01T00:00:00Z", "2029-02-28T00:00:00+00:00", "2030-02-28T00:00:00+00:00")]
    [InlineData("2028-02-29T00:00:00Z", Interval.Year, 1, "2032-02-28T12:00:00Z", "2031-02-28T00:00:00+00:00", "2032-02-29T00:00:00+00:00")]
    [InlineData("2026-01-01T12:00:00Z", Interval.Week, 1, "2026-01-15T12:00:00Z", "2026-01-15T12:00:00+00:00", "2026-01-22T12:00:00+00:00")]
    [InlineData("2026-01-01T12:00:00Z", Interval.Day, 1, "2026-01-05T11:59:59Z", "2026-01-04T12:00:00+00:00", "2026-01-05T12:00:00+00:00")]
    [InlineData("2026-01-01T23:15:00Z", Interval.Hour, 1, "2026-01-01T23:15:00Z", "2026-01-01T23:15:00+00:00", "2026-01-02T00:15:00+00:00")]
    // Before the anchor: the first period.
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, "2025-12-01T00:00:00Z", "2026-01-31T10:00:00+00:00", "2026-02-28T10:00:00+00:00")]
    // `at` with an offset is compared as an instant.
    [InlineData("2026-01-31T10:00:00Z", Interval.Month, 1, "2026-02-28T05:00:00-05:00", "2026-02-28T10:00:00+00:00", "2026-03-31T10:00:00+00:00")]
    public void Containing_table(string anchor, Interval interval, int count, string at, string start, string end)
    {
        var (s, e) = PeriodMath.Containing(At(anchor), interval, count, At(at));
        Assert.Equal(start, Show(s));
        Assert.Equal(end, Show(e));
    }

    [Theory]
    [InlineData("hour", Interval.Hour)]
    [InlineData("day", Interval.Day)]
    [InlineData("week", Interval.Week)]
    [InlineData("month", Interval.Month)]
    [InlineData("year", Interval.Year)]
    public void TryParse_accepts_the_api_values(string text, Interval expected)
    {
        Assert.True(PeriodMath.TryParse(text, out var interval));
        Assert.Equal(expected, interval);
    }

    [Theory]
    [InlineData("never")]
    [InlineData("Month")]
    [InlineData("")]
    [InlineData("months")]
    [InlineData(" day")]
    public void TryParse_refuses_anything_else(string text)
    {
        Assert.False(PeriodMath.TryParse(text, out _));
    }

    [Fact]
    public void Boundary_refuses_out_of_range_arguments()
    {
        var anchor = At("2026-01-01T00:00:00Z");
        Assert.Throws<ArgumentOutOfRangeException>(() => PeriodMath.Boundary(anchor, Interval.Day, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PeriodMath.Boundary(anchor, Interval.Day, 1001, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PeriodMath.Boundary(anchor, Interval.Day, 1, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PeriodMath.Boundary(anchor, Interval.Day, 1, 1_000_001));
        Assert.Throws<ArgumentOutOfRangeException>(() => PeriodMath.Boundary(anchor, Interval.Year, 1000, 1_000_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => PeriodMath.Boundary(anchor, Interval.Hour, 1000, 1_000_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => PeriodMath.Containing(anchor, Interval.Day, 0, anchor));
        Assert.Equal(At("3026-01-01T00:00:00Z"), PeriodMath.Boundary(anchor, Interval.Year, 1000, 1));
    }

    private static readonly Interval[] Intervals = Enum.GetValues<Interval>();

    private static readonly Gen<(DateTimeOffset Anchor, Interval Interval, int Count, DateTimeOffset At)> CaseGen =
        from anchorMinutes in Gen.Choose(0, 60_000_000)        // 1990 … ~2104
        from anchorTicks in Gen.Choose(0, 600_000_000 - 1)    // any tick within the minute
        from interval in Gen.Elements(Intervals)
        from count in Gen.Frequency((3, Gen.Choose(1, 3)), (1, Gen.Choose(1, 1000)))
        from offsetMinutes in Gen.Choose(-100_000, 50_000_000)  // up to ~95 years after the anchor
        from offsetTicks in Gen.Choose(0, 600_000_000 - 1)
        let anchor = new DateTimeOffset(1990, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(anchorMinutes).AddTicks(anchorTicks)
        select (anchor, interval, count, anchor.AddMinutes(offsetMinutes).AddTicks(offsetTicks));

    [Fact]
    public void Containing_is_the_boundary_pair_around_at()
    {
        Prop.ForAll(CaseGen.ToArbitrary(), c =>
        {
            var (start, end) = PeriodMath.Containing(c.Anchor, c.Interval, c.Count, c.At);
            if (c.At < c.Anchor) return start == c.Anchor && end == PeriodMath.Boundary(c.Anchor, c.Interval, c.Count, 1);
            var k = IndexOf(c.Anchor, c.Interval, c.Count, start);
            return start <= c.At && c.At < end
                && PeriodMath.Boundary(c.Anchor, c.Interval, c.Count, k) == start
                && PeriodMath.Boundary(c.Anchor, c.Interval, c.Count, k + 1) == end
                && PeriodMath.Containing(c.Anchor, c.Interval, c.Count, start) == (start, end);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Boundary_matches_the_calendar_counted_from_the_anchor()
    {
        // DateTime.AddMonths/AddYears clamp the day the same way; they are the independent oracle.
        Prop.ForAll(CaseGen.ToArbitrary(), Gen.Choose(0, 40).ToArbitrary(), (c, kRaw) =>
        {
            var k = c.Interval is Interval.Year && c.Count > 100 ? kRaw % 5 : kRaw;
            var a = c.Anchor.UtcDateTime;
            var n = k * c.Count;
            var expected = c.Interval switch
            {
                Interval.Hour => a.AddHours(n),
                Interval.Day => a.AddDays(n),
                Interval.Week => a.AddDays(7L * n),
                Interval.Month => a.AddMonths(n),
                _ => a.AddYears(n),
            };
            var boundary = PeriodMath.Boundary(c.Anchor, c.Interval, c.Count, k);
            return boundary.UtcDateTime == expected && boundary < PeriodMath.Boundary(c.Anchor, c.Interval, c.Count, k + 1);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    /// <summary>k of a boundary, recovered without the code under test: exact division of the elapsed time or months.</summary>
    private static long IndexOf(DateTimeOffset anchor, Interval interval, int count, DateTimeOffset boundary)
    {
        var a = anchor.ToUniversalTime();
        var b = boundary.ToUniversalTime();
        long unitTicks = interval switch
        {
            Interval.Hour => TimeSpan.TicksPerHour,
            Interval.Day => TimeSpan.TicksPerDay,
            Interval.Week => 7 * TimeSpan.TicksPerDay,
            _ => 0,
        };
        if (unitTicks > 0)
        {
            var elapsed = (b - a).Ticks;
            Assert.Equal(0, elapsed % (unitTicks * count));
            return elapsed / (unitTicks * count);
        }
        var months = (b.Year - a.Year) * 12L + (b.Month - a.Month);
        var per = interval == Interval.Year ? 12L * count : count;
        Assert.Equal(0, months % per);
        return months / per;
    }
}
