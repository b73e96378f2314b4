using System.Globalization;
using Kassa.Core.Money;

namespace Kassa.Core.Tests.Money;

public class MoneyFormatTests
{
    [Theory]
    [InlineData(2000L, "usd", "$20")]
    [InlineData(2050L, "usd", "$20.50")]
    [InlineData(10L, "usd", "$0.10")]
    [InlineData(1L, "usd", "$0.01")]
    [InlineData(0L, "usd", "$0")]
    [InlineData(-1500L, "usd", "-$15")]
    [InlineData(-5L, "usd", "-$0.05")]
    [InlineData(123456789L, "usd", "$1,234,567.89")]
    [InlineData(100000000L, "usd", "$1,000,000")]
    [InlineData(200000L, "jpy", "¥200,000")]
    [InlineData(-999L, "jpy", "-¥999")]
    [InlineData(2000L, "eur", "€20")]
    [InlineData(2099L, "gbp", "£20.99")]
    [InlineData(2000L, "cad", "CA$20")]
    [InlineData(2000L, "chf", "CHF 20")]
    [InlineData(-2050L, "chf", "-CHF 20.50")]
    [InlineData(2000L, "sek", "20 kr")]
    [InlineData(123456L, "dkk", "1,234.56 kr")]
    [InlineData(-1500L, "nok", "-15 kr")]
    [InlineData(2001L, "pln", "PLN 20.01")]
    [InlineData(1500L, "kwd", "KD 1.500")]
    [InlineData(1000L, "kwd", "KD 1")]
    [InlineData(1L, "kwd", "KD 0.001")]
    [InlineData(1234567L, "krw", "₩1,234,567")]
    [InlineData(5000L, "clp", "CLP 5,000")]
    [InlineData(long.MaxValue, "usd", "$92,233,720,368,547,758.07")]
    [InlineData(long.MinValue, "usd", "-$92,233,720,368,547,758.08")]
    [InlineData(long.MinValue, "jpy", "-¥9,223,372,036,854,775,808")]
    public void Formats_minor_units(long amount, string code, string expected) =>
        Assert.Equal(expected, MoneyFormat.Format(amount, Currencies.Get(code)));

    [Theory]
    [InlineData(2000L, "usd", "$20.00")]
    [InlineData(2050L, "usd", "$20.50")]
    [InlineData(0L, "usd", "$0.00")]
    [InlineData(2000L, "pln", "PLN 20.00")]
    [InlineData(200000L, "jpy", "¥200,000")]
    [InlineData(1000L, "kwd", "KD 1.000")]
    [InlineData(-1500L, "sek", "-15.00 kr")]
    public void Keeps_a_zero_fraction_when_asked(long amount, string code, string expected) =>
        Assert.Equal(expected, MoneyFormat.Format(amount, Currencies.Get(code), trimZeroFraction: false));

    [Theory]
    [InlineData("0.5", "usd", "$0.005")]
    [InlineData("0.02", "usd", "$0.0002")]
    [InlineData("10", "usd", "$0.10")]
    [InlineData("2000", "usd", "$20")]
    [InlineData("2050", "usd", "$20.50")]
    [InlineData("2050.5", "usd", "$20.505")]
    [InlineData("123456.789", "usd", "$1,234.56789")]
    [InlineData("0.000001", "usd", "$0.00000001")]
    [InlineData("0.0000005", "usd", "$0.00000001")]
    [InlineData("0.0000004", "usd", "$0")]
    [InlineData("-0.5", "usd", "-$0.005")]
    [InlineData("-0.0000001", "usd", "$0")]
    [InlineData("0", "usd", "$0")]
    [InlineData("0.5", "jpy", "¥0.5")]
    [InlineData("2", "jpy", "¥2")]
    [InlineData("1.5", "kwd", "KD 0.0015")]
    [InlineData("1500", "kwd", "KD 1.500")]
    [InlineData("0.25", "chf", "CHF 0.0025")]
    public void Formats_sub_minor_amounts(string amount, string code, string expected) =>
        Assert.Equal(expected, MoneyFormat.FormatDecimalMinor(decimal.Parse(amount, CultureInfo.InvariantCulture), Currencies.Get(code)));

    [Fact]
    public void Sub_minor_formatting_handles_the_decimal_extremes()
    {
        var usd = Currencies.Get("usd");
        Assert.Equal("$792,281,625,142,643,375,935,439,503.35", MoneyFormat.FormatDecimalMinor(decimal.MaxValue, usd));
        Assert.Equal("-$792,281,625,142,643,375,935,439,503.35", MoneyFormat.FormatDecimalMinor(decimal.MinValue, usd));
    }

    [Fact]
    public void Output_ignores_the_machine_culture()
    {
        var odd = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        odd.NumberFormat.NumberGroupSeparator = ".";
        odd.NumberFormat.NumberDecimalSeparator = ",";
        odd.NumberFormat.NegativeSign = "~";
        var before = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = odd;
            Assert.Equal("-$1,234,567.89", MoneyFormat.Format(-123456789, Currencies.Get("usd")));
            Assert.Equal("$1,234.56789", MoneyFormat.FormatDecimalMinor(123456.789m, Currencies.Get("usd")));
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }
    }
}
