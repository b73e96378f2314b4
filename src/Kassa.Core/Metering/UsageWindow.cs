using System.Globalization;

namespace Kassa.Core.Metering;

/// <summary>The size of the windows a usage query reports (<c>window=hour|day|month</c>), always in UTC.</summary>
public enum UsageWindow
{
    /// <summary><c>hour</c>: the rollup grain itself.</summary>
    Hour,

    /// <summary><c>day</c>: midnight to midnight UTC.</summary>
    Day,

    /// <summary><c>month</c>: the 1st 00:00 UTC to the next month's 1st.</summary>
    Month,
}

/// <summary>
/// Calendar arithmetic for usage windows. Everything is UTC (the API's <c>tz</c> is UTC only) and
/// half-open, <c>[start, end)</c>; results carry offset zero.
/// </summary>
public static class UsageWindows
{
    /// <summary>
    /// The most windows a query may span. It bounds the rows and work of one usage query: 10,000
    /// hours is about 416 days, so longer ranges need a coarser window.
    /// </summary>
    public const int WindowsMax = 10_000;

    /// <summary>Parses <c>hour</c>, <c>day</c> or <c>month</c> (exact, lowercase); anything else returns false.</summary>
    public static bool TryParse(string? wire, out UsageWindow window)
    {
        (var ok, window) = wire switch
        {
            "hour" => (true, UsageWindow.Hour),
            "day" => (true, UsageWindow.Day),
            "month" => (true, UsageWindow.Month),
            _ => (false, default(UsageWindow)),
        };
        return ok;
    }

    /// <summary>The wire name of <paramref name="window"/>.</summary>
    public static string ToWire(UsageWindow window) => window switch
    {
        UsageWindow.Hour => "hour",
        UsageWindow.Day => "day",
        UsageWindow.Month => "month",
        _ => throw new ArgumentOutOfRangeException(nameof(window), window, "Unknown window."),
    };

    /// <summary>The start of the hour that contains <paramref name="t"/>, in UTC: the rollup key of an event.</summary>
    public static DateTimeOffset HourFloor(DateTimeOffset t) => Floor(t, UsageWindow.Hour);

    /// <summary>
    /// The start of the window that contains <paramref name="t"/>: the hour truncated, midnight UTC,
    /// or the 1st of the month at 00:00 UTC.
    /// </summary>
    public static DateTimeOffset Floor(DateTimeOffset t, UsageWindow window)
    {
        var utc = t.UtcDateTime;
        return window switch
        {
            UsageWindow.Hour => new DateTimeOffset(utc.Ticks - utc.Ticks % TimeSpan.TicksPerHour, TimeSpan.Zero),
            UsageWindow.Day => new DateTimeOffset(utc.Date, TimeSpan.Zero),
            UsageWindow.Month => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => throw new ArgumentOutOfRangeException(nameof(window), window, "Unknown window."),
        };
    }

    /// <summary>
    /// The exclusive end of the window that contains <paramref name="start"/>, which is the start of
    /// the following window (Jan 31 with <c>day</c> → Feb 1; any instant in January with
    /// <c>month</c> → Feb 1). Throws <see cref="ArgumentOutOfRangeException"/> past year 9999.
    /// </summary>
    public static DateTimeOffset Next(DateTimeOffset start, UsageWindow window)
    {
        var floor = Floor(start, window);
        return window switch
        {
            UsageWindow.Hour => floor.AddHours(1),
            UsageWindow.Day => floor.AddDays(1),
            _ => floor.AddMonths(1),
        };
    }

    /// <summary>
    /// Null when <c>[from, to)</c> is a usable query range for <paramref name="window"/>; otherwise the
    /// complaint. The range must not be empty (<paramref name="from"/> before <paramref name="to"/>)
    /// and must touch at most <see cref="WindowsMax"/> windows, counting the partial ones at either end.
    /// </summary>
    public static string? ValidateRange(DateTimeOffset from, DateTimeOffset to, UsageWindow window)
    {
        if (from >= to) return "from must be before to";
        var first = Floor(from, window);
        var fromFirst = window switch
        {
            UsageWindow.Hour => CeilingDivide((to - first).Ticks, TimeSpan.TicksPerHour),
            UsageWindow.Day => CeilingDivide((to - first).Ticks, TimeSpan.TicksPerDay),
            _ => MonthIndex(to) - MonthIndex(first) + (Floor(to, UsageWindow.Month) < to ? 1 : 0),
        };
        return fromFirst > WindowsMax
            ? string.Create(CultureInfo.InvariantCulture, $"the range from {from.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} to {to.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} spans {fromFirst:#,0} {ToWire(window)} windows; at most {WindowsMax:#,0} are allowed")
            : null;
    }

    private static long CeilingDivide(long a, long b) => (a + b - 1) / b;

    private static long MonthIndex(DateTimeOffset t)
    {
        var utc = t.UtcDateTime;
        return utc.Year * 12L + utc.Month - 1;
    }
}
