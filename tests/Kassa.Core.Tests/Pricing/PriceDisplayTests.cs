using System.Globalization;
using Kassa.Core.Money;
using Kassa.Core.Pricing;

namespace Kassa.Core.Tests.Pricing;

public class PriceDisplayTests
{
    private static readonly Currency Usd = Currencies.Get("usd");

    [Theory]
    [InlineData(2000L, "usd", "month", 1, "$20 / month")]
    [InlineData(200000L, "jpy", "month", 1, "¥200,000 / month")]
    [InlineData(2000L, "jpy", "month", 1, "¥2,000 / month")]
    [InlineData(20000L, "usd", "year", 1, "$200 / year")]
    [InlineData(6000L, "usd", "month", 3, "$60 / 3 months")]
    [InlineData(500L, "usd", "week", 1, "$5 / week")]
    [InlineData(100L, "usd", "day", 1, "$1 / day")]
    [InlineData(999L, "usd", "week", 2, "$9.99 / 2 weeks")]
    [InlineData(2000L, "chf", "month", 1, "CHF 20 / month")]
    [InlineData(9900L, "sek", "year", 1, "99 kr / year")]
    public void Recurring(long amount, string code, string interval, int count, string expected) =>
        Assert.Equal(expected, PriceDisplay.Recurring(amount, Currencies.Get(code), interval, count));

    [Fact]
    public void Recurring_refuses_unknown_intervals_and_counts_out_of_range()
    {
        Assert.Throws<ArgumentException>(() => PriceDisplay.Recurring(100, Usd, "fortnight", 1));
        Assert.Throws<ArgumentException>(() => PriceDisplay.Recurring(100, Usd, "Month", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PriceDisplay.Recurring(100, Usd, "month", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PriceDisplay.Recurring(100, Usd, "month", 1001));
        Assert.Equal("$1 / 1000 days", PriceDisplay.Recurring(100, Usd, "day", 1000));
    }

    [Theory]
    [InlineData(5000L, "usd", "$50 once")]
    [InlineData(5050L, "eur", "€50.50 once")]
    [InlineData(5000L, "jpy", "¥5,000 once")]
    public void One_time(long amount, string code, string expected) =>
        Assert.Equal(expected, PriceDisplay.OneTime(amount, Currencies.Get(code)));

    [Theory]
    [InlineData("0.01", "$0.10 per 1,000 api_calls")]
    [InlineData("2", "$0.02 per api_calls")]
    [InlineData("1", "$0.01 per api_calls")]
    [InlineData("1.5", "$0.02 per api_calls")]
    [InlineData("1234.5", "$12.35 per api_calls")]
    [InlineData("0.1", "$1 per 1,000 api_calls")]
    [InlineData("0.0015", "$0.02 per 1,000 api_calls")]
    [InlineData("0.001", "$0.01 per 1,000 api_calls")]
    [InlineData("0.0009", "$9 per 1,000,000 api_calls")]
    [InlineData("0.00000025", "$2.50 per 1,000,000,000 api_calls")]
    [InlineData("0.000000000001", "$0.00001 per 1,000,000,000 api_calls")]
    [InlineData("0", "$0 per api_calls")]
    public void Per_unit_picks_the_smallest_batch_worth_a_minor_unit(string unit, string expected) =>
        Assert.Equal(expected, PriceDisplay.Usage(UsagePrice.PerUnit(decimal.Parse(unit, CultureInfo.InvariantCulture)), Usd, "api_calls"));

    [Fact]
    public void Per_unit_in_other_currencies()
    {
        Assert.Equal("¥1 per 1,000 requests", PriceDisplay.Usage(UsagePrice.PerUnit(0.001m), Currencies.Get("jpy"), "requests"));
        Assert.Equal("KD 0.005 per GB", PriceDisplay.Usage(UsagePrice.PerUnit(5m), Currencies.Get("kwd"), "GB"));
        Assert.Equal("2 kr per 1,000 api_calls", PriceDisplay.Usage(UsagePrice.PerUnit(0.2m), Currencies.Get("sek"), "api_calls"));
    }

    [Fact]
    public void Package()
    {
        Assert.Equal("$5 per 1,000 api_calls", PriceDisplay.Usage(UsagePrice.Package(1_000m, 500), Usd, "api_calls"));
        Assert.Equal("$0.50 per seats", PriceDisplay.Usage(UsagePrice.Package(1m, 50), Usd, "seats"));
        Assert.Equal("$12.34 per 25 GB", PriceDisplay.Usage(UsagePrice.Package(25m, 1234), Usd, "GB"));
    }

    [Fact]
    public void Tiered_prices_show_the_first_tier_and_its_flat_amount()
    {
        // The spec's example tiers: 0.1 minor units per call is a tenth of a cent, $1 per 1,000 calls.
        var graduated = UsagePrice.Graduated(new Tier(100_000m, 0.1m, 0), new Tier(null, 0.05m, 0));
        Assert.Equal("from $1 per 1,000 api_calls", PriceDisplay.Usage(graduated, Usd, "api_calls"));
        var cheaper = UsagePrice.Graduated(new Tier(100_000m, 0.01m, 0), new Tier(null, 0.005m, 0));
        Assert.Equal("from $0.10 per 1,000 api_calls", PriceDisplay.Usage(cheaper, Usd, "api_calls"));
        var volume = UsagePrice.Volume(new Tier(1_000m, 0.01m, 1_000), new Tier(null, 0.005m, 0));
        Assert.Equal("from $0.10 per 1,000 api_calls + $10", PriceDisplay.Usage(volume, Usd, "api_calls"));
        var freeFirst = UsagePrice.Graduated(new Tier(1_000m, 0m, 0), new Tier(null, 2m, 0));
        Assert.Equal("from $0 per api_calls", PriceDisplay.Usage(freeFirst, Usd, "api_calls"));
    }

    [Fact]
    public void Usage_refuses_invalid_prices_and_unit_names()
    {
        Assert.Throws<ArgumentException>(() => PriceDisplay.Usage(UsagePrice.PerUnit(-1m), Usd, "api_calls"));
        Assert.Throws<ArgumentException>(() => PriceDisplay.Usage(UsagePrice.PerUnit(1m), Usd, " "));
        Assert.Throws<ArgumentException>(() => PriceDisplay.Usage(UsagePrice.PerUnit(1m), Usd, new string('u', 65)));
        Assert.Equal("$0.01 per " + new string('u', 64), PriceDisplay.Usage(UsagePrice.PerUnit(1m), Usd, new string('u', 64)));
    }
}
