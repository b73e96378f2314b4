using Kassa.Core.Metering;
using static Kassa.Core.Tests.Metering.MeteringTestJson;

namespace Kassa.Core.Tests.Metering;

public class MeterValueTests
{
    [Theory]
    [InlineData("12", 12_000_000L)]
    [InlineData("12.5", 12_500_000L)]
    [InlineData("-3", -3_000_000L)]
    [InlineData("0", 0L)]
    [InlineData("-0", 0L)]
    [InlineData("0.000001", 1L)]
    [InlineData("1.000000000", 1_000_000L)] // trailing zeros are not digits
    [InlineData("1e3", 1_000_000_000L)] // JSON numbers may have an exponent
    [InlineData("1.5E-3", 1_500L)]
    [InlineData("25e-2", 250_000L)]
    [InlineData("9000000000000", 9_000_000_000_000_000_000L)]
    [InlineData("-9000000000000", -9_000_000_000_000_000_000L)]
    [InlineData("8999999999999.999999", 8_999_999_999_999_999_999L)]
    [InlineData("\"12.5\"", 12_500_000L)]
    [InlineData("\"-3\"", -3_000_000L)]
    [InlineData("\"0.1000000\"", 100_000L)]
    [InlineData("\"007\"", 7_000_000L)]
    [InlineData("\"9000000000000\"", 9_000_000_000_000_000_000L)]
    public void Reads_numbers_and_numeric_strings_exactly(string json, long expected)
    {
        Assert.True(MeterValue.TryRead(J($"{{\"v\": {json}}}"), "v", out var micros, out var error), error);
        Assert.Equal(expected, micros);
        Assert.Null(error);
    }

    [Fact]
    public void Reads_a_nested_path()
    {
        Assert.True(MeterValue.TryRead(J("{'usage': {'input_tokens': 1500}}"), "usage.input_tokens", out var micros, out _));
        Assert.Equal(1_500_000_000L, micros);
    }

    private const string NotADecimalString = "property 'v' is a string that is not a decimal number (digits, an optional leading '-' and '.' fraction, no exponent)";
    private const string SevenDigits = "property 'v' must have at most 6 fractional digits";
    private const string OutOfRange = "property 'v' must be between -9,000,000,000,000 and 9,000,000,000,000";

    [Theory]
    [InlineData("\"1e3\"", NotADecimalString)]
    [InlineData("\"abc\"", NotADecimalString)]
    [InlineData("\"\"", NotADecimalString)]
    [InlineData("\" 1\"", NotADecimalString)]
    [InlineData("\"1 \"", NotADecimalString)]
    [InlineData("\"+1\"", NotADecimalString)]
    [InlineData("\".5\"", NotADecimalString)]
    [InlineData("\"5.\"", NotADecimalString)]
    [InlineData("\"1,5\"", NotADecimalString)]
    [InlineData("\"--1\"", NotADecimalString)]
    [InlineData("\"NaN\"", NotADecimalString)]
    [InlineData("\"١٢\"", NotADecimalString)] // Arabic-Indic digits are digits to .NET, not to the API
    [InlineData("0.0000001", SevenDigits)]
    [InlineData("1.0000001", SevenDigits)]
    [InlineData("\"1.0000001\"", SevenDigits)]
    [InlineData("1e-7", SevenDigits)]
    [InlineData("1e-30", SevenDigits)] // decimal.Parse would flush this to 0
    [InlineData("1.00000000000000000000000000001", SevenDigits)] // decimal.Parse would round this to 1
    [InlineData("9000000000000.000001", OutOfRange)]
    [InlineData("-9000000000000.000001", OutOfRange)]
    [InlineData("\"10000000000000\"", OutOfRange)]
    [InlineData("1e13", OutOfRange)]
    [InlineData("1e400", OutOfRange)]
    [InlineData("1e99999999999999999999", OutOfRange)]
    [InlineData("true", "property 'v' must be a number or a numeric string, not a boolean")]
    [InlineData("null", "property 'v' must be a number or a numeric string, not null")]
    [InlineData("{}", "property 'v' must be a number or a numeric string, not an object")]
    [InlineData("[1]", "property 'v' must be a number or a numeric string, not an array")]
    public void Refuses_with_a_clear_message(string json, string expected)
    {
        Assert.False(MeterValue.TryRead(J($"{{\"v\": {json}}}"), "v", out var micros, out var error));
        Assert.Equal(expected, error);
        Assert.Equal(0, micros);
    }

    [Fact]
    public void A_missing_path_is_named()
    {
        Assert.False(MeterValue.TryRead(J("{'usage': {}}"), "usage.input_tokens", out _, out var error));
        Assert.Equal("property 'usage.input_tokens' is missing", error);
        Assert.False(MeterValue.TryRead(J("{}"), "tokens", out _, out error));
        Assert.Equal("property 'tokens' is missing", error);
    }

    [Theory]
    [InlineData("'user_1'", "user_1")]
    [InlineData("42", "42")]
    [InlineData("42.0", "42")]
    [InlineData("4.2e1", "42")]
    [InlineData("'42'", "42")] // a numeric string and a number are one distinct value
    [InlineData("true", "true")]
    [InlineData("''", "")]
    public void Distinct_values_are_canonical_text(string json, string expected)
    {
        Assert.True(MeterValue.TryReadDistinct(J($"{{'u': {json}}}"), "u", out var value, out _));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("{}", "property 'u' is missing")]
    [InlineData("{'u': null}", "property 'u' must be a string, number or boolean, not null")]
    [InlineData("{'u': {'id': 1}}", "property 'u' must be a string, number or boolean, not an object")]
    [InlineData("{'u': []}", "property 'u' must be a string, number or boolean, not an array")]
    public void Distinct_values_must_be_scalars(string json, string expected)
    {
        Assert.False(MeterValue.TryReadDistinct(J(json), "u", out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void An_events_value_is_one_unit_for_count_and_the_property_otherwise()
    {
        var props = J("{'tokens': 2.5, 'user': 'u1'}");
        Assert.True(MeterValue.TryReadEventValue(Meter(Aggregation.Count), J("{}"), out var count, out _));
        Assert.Equal(1_000_000L, count);
        Assert.True(MeterValue.TryReadEventValue(Meter(Aggregation.Sum), props, out var sum, out _));
        Assert.Equal(2_500_000L, sum);
        Assert.True(MeterValue.TryReadEventValue(Meter(Aggregation.Latest), props, out var latest, out _));
        Assert.Equal(2_500_000L, latest);
        Assert.True(MeterValue.TryReadEventValue(Meter(Aggregation.UniqueCount, "user"), props, out var unique, out _));
        Assert.Equal(1_000_000L, unique);
        Assert.False(MeterValue.TryReadEventValue(Meter(Aggregation.UniqueCount, "nobody"), props, out _, out var error));
        Assert.Equal("property 'nobody' is missing", error);
        Assert.False(MeterValue.TryReadEventValue(Meter(Aggregation.Max, "user"), props, out _, out error));
        Assert.Equal("property 'user' is a string that is not a decimal number (digits, an optional leading '-' and '.' fraction, no exponent)", error);
    }
}
