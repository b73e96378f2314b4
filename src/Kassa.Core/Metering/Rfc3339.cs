namespace Kassa.Core.Metering;

/// <summary>
/// A strict RFC 3339 timestamp parser: <c>YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)</c>.
/// <para>
/// Why not <see cref="DateTimeOffset.TryParse(string?, out DateTimeOffset)"/>: it accepts local
/// times without an offset (and would read them in the server's zone), other calendars' layouts and
/// stray whitespace; an event's time must be unambiguous. Why not a fixed format string: clients
/// send anywhere from 0 to 9 fractional digits (JavaScript 3, Python 6, Go up to 9).
/// </para>
/// </summary>
public static class Rfc3339
{
    /// <summary>The most fractional-second digits accepted (nanoseconds).</summary>
    public const int FractionDigitsMax = 9;

    /// <summary>
    /// Parses <paramref name="text"/> into a UTC instant. The <c>T</c> and <c>Z</c> may be
    /// lowercase; the offset is required (<c>Z</c>, <c>+02:00</c>, <c>-05:30</c>); fractional digits
    /// beyond the 7th (100 ns ticks) are truncated. Leap seconds (<c>:60</c>) are refused.
    /// </summary>
    public static bool TryParse(string? text, out DateTimeOffset utc)
    {
        utc = default;
        if (text is null || text.Length < 20 || text.Length > 19 + 1 + FractionDigitsMax + 6) return false;
        var s = text.AsSpan();
        if (!Digits(s, 0, 4, out var year) || s[4] != '-' || !Digits(s, 5, 2, out var month) || s[7] != '-'
            || !Digits(s, 8, 2, out var day) || s[10] is not ('T' or 't')
            || !Digits(s, 11, 2, out var hour) || s[13] != ':' || !Digits(s, 14, 2, out var minute) || s[16] != ':'
            || !Digits(s, 17, 2, out var second))
            return false;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
            return false;

        var i = 19;
        long fractionTicks = 0;
        if (s[i] == '.')
        {
            var start = ++i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            var digits = i - start;
            if (digits is 0 or > FractionDigitsMax) return false;
            // Seven digits are 100 ns ticks; pad shorter fractions, truncate longer ones.
            for (var k = 0; k < 7; k++) fractionTicks = fractionTicks * 10 + (k < digits ? s[start + k] - '0' : 0);
        }

        if (i >= s.Length) return false;
        long offsetTicks;
        if (s[i] is 'Z' or 'z')
        {
            offsetTicks = 0;
            i++;
        }
        else if (s[i] is '+' or '-')
        {
            if (i + 6 != s.Length || !Digits(s, i + 1, 2, out var offsetHours) || s[i + 3] != ':'
                || !Digits(s, i + 4, 2, out var offsetMinutes) || offsetHours > 23 || offsetMinutes > 59)
                return false;
            offsetTicks = (offsetHours * 60L + offsetMinutes) * TimeSpan.TicksPerMinute * (s[i] == '-' ? -1 : 1);
            i += 6;
        }
        else
        {
            return false;
        }
        if (i != s.Length) return false;

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fractionTicks;
        var ticks = local - offsetTicks;
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks) return false;
        utc = new DateTimeOffset(ticks, TimeSpan.Zero);
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> s, int start, int count, out int value)
    {
        value = 0;
        if (start + count > s.Length) return false;
        for (var k = start; k < start + count; k++)
        {
            if (!char.IsAsciiDigit(s[k])) return false;
            value = value * 10 + (s[k] - '0');
        }
        return true;
    }
}
