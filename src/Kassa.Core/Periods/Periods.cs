namespace Kassa.Core.Periods;

/// <summary>The unit of a reset or billing period.</summary>
public enum Interval
{
    /// <summary>One hour.</summary>
    Hour,
    /// <summary>One day (24 hours; UTC has no daylight saving).</summary>
    Day,
    /// <summary>Seven days.</summary>
    Week,
    /// <summary>One calendar month, the day clamped to the month's length.</summary>
    Month,
    /// <summary>Twelve calendar months.</summary>
    Year,
}

/// <summary>
/// Anniversary periods in UTC (spec §4): every boundary is computed from the anchor, never by
/// adding one period to the previous boundary, so a month clamped to a short month's end does not
/// drag later boundaries with it (anchor Jan 31 → Feb 28 → Mar 31 → Apr 30). Periods are half-open
/// <c>[start, end)</c>. All results carry offset zero.
/// </summary>
public static class Periods
{
    /// <summary>Smallest interval count accepted.</summary>
    public const int CountMin = 1;

    /// <summary>Largest interval count accepted.</summary>
    public const int CountMax = 1000;

    /// <summary>Largest boundary index <see cref="Boundary"/> accepts.</summary>
    public const long IndexMax = 1_000_000;

    /// <summary>
    /// Parses a reset value: <c>hour</c>, <c>day</c>, <c>week</c>, <c>month</c> or <c>year</c>
    /// (exact, lowercase as in the API). <c>never</c>, null and anything else return false.
    /// </summary>
    public static bool TryParse(string reset, out Interval interval)
    {
        (var ok, interval) = reset switch
        {
            "hour" => (true, Interval.Hour),
            "day" => (true, Interval.Day),
            "week" => (true, Interval.Week),
            "month" => (true, Interval.Month),
            "year" => (true, Interval.Year),
            _ => (false, default(Interval)),
        };
        return ok;
    }

    /// <summary>The API name of an interval (<c>month</c>), the inverse of <see cref="TryParse"/>.</summary>
    public static string Name(Interval interval) => interval switch
    {
        Interval.Hour => "hour",
        Interval.Day => "day",
        Interval.Week => "week",
        Interval.Month => "month",
        Interval.Year => "year",
        _ => throw new ArgumentOutOfRangeException(nameof(interval)),
    };

    /// <summary>
    /// The k-th boundary from the anchor: anchor + k × count × interval, computed from the anchor,
    /// never by chaining. Months and years clamp the day to the month's length (anchor Jan 31 →
    /// Feb 28/29 → Mar 31 → Apr 30; anchor Feb 29 yearly → Feb 28 in common years) and keep the
    /// anchor's UTC time of day. <c>k = 0</c> is the anchor itself (in UTC). Throws
    /// <see cref="ArgumentOutOfRangeException"/> when <paramref name="count"/> is outside 1–1000,
    /// <paramref name="k"/> outside 0–1,000,000, or the boundary falls past year 9999.
    /// </summary>
    public static DateTimeOffset Boundary(DateTimeOffset anchor, Interval interval, int count, long k)
    {
        CheckCount(count);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, IndexMax);
        return At(anchor.ToUniversalTime(), interval, count, k);
    }

    /// <summary>
    /// The half-open period <c>[Start, End)</c> that contains <paramref name="at"/>: <c>Start =
    /// Boundary(k) ≤ at &lt; Boundary(k + 1) = End</c>. At exactly a boundary, the period starting
    /// there. For <c>at</c> before the anchor, the first period <c>[anchor, Boundary(1))</c>. Takes
    /// constant time: k is estimated by arithmetic and corrected by a step or two. Not limited to
    /// k ≤ 1,000,000 (only by year 9999).
    /// </summary>
    public static (DateTimeOffset Start, DateTimeOffset End) Containing(DateTimeOffset anchor, Interval interval, int count, DateTimeOffset at)
    {
        CheckCount(count);
        var a = anchor.ToUniversalTime();
        if (at < a) return (a, At(a, interval, count, 1));
        var k = Estimate(a, interval, count, at.ToUniversalTime());
        // The estimate is exact for fixed-length intervals; for months it counts calendar months and can
        // be one period ahead (at's day or time of day is before the anchor's) or, after clamping, behind.
        while (k > 0 && At(a, interval, count, k) > at) k--;
        while (At(a, interval, count, k + 1) <= at) k++;
        return (At(a, interval, count, k), At(a, interval, count, k + 1));
    }

    private static long Estimate(DateTimeOffset a, Interval interval, int count, DateTimeOffset at)
    {
        var months = (at.Year - a.Year) * 12L + (at.Month - a.Month);
        return interval switch
        {
            Interval.Hour => (at - a).Ticks / (count * TimeSpan.TicksPerHour),
            Interval.Day => (at - a).Ticks / (count * TimeSpan.TicksPerDay),
            Interval.Week => (at - a).Ticks / (count * 7 * TimeSpan.TicksPerDay),
            Interval.Month => Math.Max(0, months / count),
            Interval.Year => Math.Max(0, months / (12L * count)),
            _ => throw new ArgumentOutOfRangeException(nameof(interval), interval, "Unknown interval."),
        };
    }

    /// <summary>anchor (UTC) + k × count intervals, without the k limit of <see cref="Boundary"/>.</summary>
    private static DateTimeOffset At(DateTimeOffset a, Interval interval, int count, long k)
    {
        try
        {
            var steps = checked(k * count);
            return interval switch
            {
                Interval.Hour => a.AddTicks(checked(steps * TimeSpan.TicksPerHour)),
                Interval.Day => a.AddTicks(checked(steps * TimeSpan.TicksPerDay)),
                Interval.Week => a.AddTicks(checked(steps * 7 * TimeSpan.TicksPerDay)),
                Interval.Month => AddMonths(a, steps),
                Interval.Year => AddMonths(a, checked(steps * 12)),
                _ => throw new ArgumentOutOfRangeException(nameof(interval), interval, "Unknown interval."),
            };
        }
        catch (OverflowException e)
        {
            throw new ArgumentOutOfRangeException("The period boundary is beyond the supported calendar (year 9999).", e);
        }
    }

    /// <summary>Calendar months from the anchor, clamping the day to the target month's length.</summary>
    private static DateTimeOffset AddMonths(DateTimeOffset a, long months)
    {
        var index = checked(a.Year * 12L + (a.Month - 1) + months);
        var year = index / 12;
        var month = (int)(index % 12) + 1;
        if (year > 9999) throw new ArgumentOutOfRangeException(nameof(months), "The period boundary is beyond year 9999.");
        var day = Math.Min(a.Day, DateTime.DaysInMonth((int)year, month));
        // Midnight of the target day plus the anchor's time of day keeps hours, minutes and sub-seconds.
        return new DateTimeOffset((int)year, month, day, 0, 0, 0, TimeSpan.Zero).Add(a.TimeOfDay);
    }

    private static void CheckCount(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, CountMin);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, CountMax);
    }
}
