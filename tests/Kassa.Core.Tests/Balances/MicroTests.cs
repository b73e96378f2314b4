using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Kassa.Core.Balances;

namespace Kassa.Core.Tests.Balances;

public class MicroTests
{
    [Theory]
    [InlineData("1.5", 1_500_000L)]
    [InlineData("0.000001", 1L)]
    [InlineData("-0.000001", -1L)]
    [InlineData("0", 0L)]
    [InlineData("1500", 1_500_000_000L)]
    [InlineData("0.25", 250_000L)]
    [InlineData("1.5000000", 1_500_000L)] // trailing zeros are not digits
    [InlineData("-42.123456", -42_123_456L)]
    [InlineData("9000000000000", 9_000_000_000_000_000_000L)]
    [InlineData("-9000000000000", -9_000_000_000_000_000_000L)]
    [InlineData("8999999999999.999999", 8_999_999_999_999_999_999L)]
    public void Converts_exactly(string text, long expected)
    {
        Assert.True(Micro.TryFromDecimal(decimal.Parse(text, CultureInfo.InvariantCulture), out var micro));
        Assert.Equal(expected, micro);
    }

    [Theory]
    [InlineData("0.0000001")]
    [InlineData("1.0000005")]
    [InlineData("-0.0000001")]
    [InlineData("9000000000000.000001")]
    [InlineData("-9000000000000.000001")]
    [InlineData("79228162514264337593543950335")]
    [InlineData("0.1234567890123456789012345678")]
    public void Refuses_a_seventh_digit_or_a_value_out_of_range(string text)
    {
        Assert.False(Micro.TryFromDecimal(decimal.Parse(text, CultureInfo.InvariantCulture), out var micro));
        Assert.Equal(0, micro);
    }

    [Theory]
    [InlineData(1_500_000L, "1.5")]
    [InlineData(2_000_000L, "2")]
    [InlineData(1L, "0.000001")]
    [InlineData(0L, "0")]
    [InlineData(-250_000L, "-0.25")]
    [InlineData(10_000_000L, "10")]
    [InlineData(123_456_789L, "123.456789")]
    [InlineData(long.MaxValue, "9223372036854.775807")]
    [InlineData(long.MinValue, "-9223372036854.775808")]
    public void ToDecimal_is_exact_and_normalized(long micro, string expected)
    {
        var value = Micro.ToDecimal(micro);
        // ToString shows the scale, so this proves there are no trailing zeros (1.5, not 1.500000).
        Assert.Equal(expected, value.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(decimal.Parse(expected, CultureInfo.InvariantCulture), value);
    }

    [Fact]
    public void Round_trips_every_long_in_range()
    {
        Prop.ForAll<long>(micro =>
        {
            var inRange = micro is >= -Micro.MaxAbs and <= Micro.MaxAbs;
            var ok = Micro.TryFromDecimal(Micro.ToDecimal(micro), out var back);
            return ok == inRange && (!inRange || back == micro);
        }).QuickCheckThrowOnFailure();
        // Random longs are mostly small: the edges of the range are checked explicitly.
        Assert.True(Micro.TryFromDecimal(Micro.ToDecimal(Micro.MaxAbs), out var max) && max == Micro.MaxAbs);
        Assert.False(Micro.TryFromDecimal(Micro.ToDecimal(Micro.MaxAbs + 1), out _));
        Assert.False(Micro.TryFromDecimal(Micro.ToDecimal(long.MinValue), out _));
    }
}
