using System.Globalization;
using Kassa.Core.Pricing;

namespace Kassa.Core.Tests.Pricing;

public class BillingTests
{
    [Theory]
    [InlineData("1500", "1000", "500")]
    [InlineData("1000", "1000", "0")]
    [InlineData("999", "1000", "0")]
    [InlineData("1000.25", "1000", "0.25")]
    [InlineData("1500", "0", "1500")]
    [InlineData("0", "0", "0")]
    [InlineData("-5", "0", "0")]
    [InlineData("1500", null, "0")]
    [InlineData("79228162514264337593543950335", "0", "79228162514264337593543950335")]
    [InlineData("-79228162514264337593543950335", "1", "0")]
    public void Billable_is_usage_beyond_the_allowance(string usage, string? included, string expected)
    {
        static decimal D(string s) => decimal.Parse(s, CultureInfo.InvariantCulture);
        Assert.Equal(D(expected), Billing.Billable(D(usage), included is null ? null : D(included)));
    }

    [Fact]
    public void A_negative_allowance_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Billing.Billable(10m, -1m));
}
