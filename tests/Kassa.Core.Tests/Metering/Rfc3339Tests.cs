using Kassa.Core.Metering;

namespace Kassa.Core.Tests.Metering;

public class Rfc3339Tests
{
    [Theory]
    [InlineData("2026-11-22T10:00:00Z", "2026-11-22T10:00:00.0000000+00:00")]
    [InlineData("2026-11-22t10:00:00z", "2026-11-22T10:00:00.0000000+00:00")]
    [InlineData("2026-11-22T12:00:00+02:00", "2026-11-22T10:00:00.0000000+00:00")]
    [InlineData("2026-11-22T04:30:00-05:30", "2026-11-22T10:00:00.0000000+00:00")]
    [InlineData("2026-11-22T00:30:00+01:00", "2026-11-21T23:30:00.0000000+00:00")]
    [InlineData("2026-11-22T10:00:00-00:00", "2026-11-22T10:00:00.0000000+00:00")]
    [InlineData("2026-11-22T10:00:00.5Z", "2026-11-22T10:00:00.5000000+00:00")]
    [InlineData("2026-11-22T10:00:00.123Z", "2026-11-22T10:00:00.1230000+00:00")]
    [InlineData("2026-11-22T10:00:00.123456Z", "2026-11-22T10:00:00.1234560+00:00")]
    [InlineData("2026-11-22T10:00:00.1234567Z", "2026-11-22T10:00:00.1234567+00:00")]
    [InlineData("2026-11-22T10:00:00.123456789Z", "2026-11-22T10:00:00.1234567+00:00")] // truncated to ticks
    [InlineData("2028-02-29T23:59:59Z", "2028-02-29T23:59:59.0000000+00:00")]
    [InlineData("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.0000000+00:00")]
    [InlineData("9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.9999999+00:00")]
    public void Parses_to_utc(string text, string expected)
    {
        Assert.True(Rfc3339.TryParse(text, out var utc));
        Assert.Equal(expected, utc.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.Zero, utc.Offset);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2026-11-22T10:00:00")] // a local time: no offset
    [InlineData("2026-11-22T10:00:00.000")]
    [InlineData("2026-11-22")]
    [InlineData("2026-11-22 10:00:00Z")]
    [InlineData("2026-11-22T10:00Z")]
    [InlineData(" 2026-11-22T10:00:00Z")]
    [InlineData("2026-11-22T10:00:00Z ")]
    [InlineData("2026-11-22T10:00:00+0200")]
    [InlineData("2026-11-22T10:00:00+02")]
    [InlineData("2026-11-22T10:00:00+24:00")]
    [InlineData("2026-11-22T10:00:00.Z")]
    [InlineData("2026-11-22T10:00:00.1234567890Z")] // more than 9 fractional digits
    [InlineData("2026-02-29T10:00:00Z")] // not a leap year
    [InlineData("2026-13-01T10:00:00Z")]
    [InlineData("2026-11-31T10:00:00Z")]
    [InlineData("2026-11-22T24:00:00Z")]
    [InlineData("2026-11-22T10:60:00Z")]
    [InlineData("2026-11-22T10:00:60Z")] // leap seconds are not representable
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("0001-01-01T00:00:00+01:00")] // before year 1 in UTC
    [InlineData("9999-12-31T23:00:00-01:00")] // past year 9999 in UTC
    [InlineData("２０２６-11-22T10:00:00Z")]
    [InlineData("1763805600")]
    public void Refuses_anything_else(string? text) => Assert.False(Rfc3339.TryParse(text, out _));
}
