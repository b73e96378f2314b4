using Kassa.Core.Invoicing;

namespace Kassa.Core.Tests.Invoicing;

public class TaxRateTests
{
    private static readonly TaxRateTerms[] Rates =
    [
        new("txr_de", "MwSt", "DE", null, 19, Inclusive: true),
        new("txr_us_ny", "NY sales tax", "US", "NY", 8.875m, Inclusive: false),
        new("txr_us_old", "old", "US", null, 5, Inclusive: false, Archived: true),
        new("txr_us", "US default", "US", null, 0, Inclusive: false),
        new("txr_de_2", "duplicate", "DE", null, 7, Inclusive: true),
    ];

    [Theory]
    [InlineData("DE", null, "txr_de")]
    [InlineData("de", "BY", "txr_de")]
    [InlineData("US", "NY", "txr_us_ny")]
    [InlineData("US", "ny", "txr_us_ny")]
    [InlineData("US", "CA", "txr_us")]
    [InlineData("US", null, "txr_us")]
    [InlineData("FR", null, null)]
    [InlineData(null, null, null)]
    public void The_most_specific_live_rate_for_the_address_applies(string? country, string? state, string? expected) =>
        Assert.Equal(expected, TaxRates.ForAddress(Rates, country, state)?.Id);

    [Fact]
    public void An_inclusive_rate_keeps_its_kind_on_the_invoice()
    {
        var figures = InvoiceMath.Build(new InvoiceInput([new LineInput(LineType.Recurring, "Pro", 1, 1190, 1190)], Tax: TaxRates.ForInvoice(Rates[0])));
        Assert.Equal((1190L, 190L, true), (figures.Total, figures.Tax, figures.TaxInclusive));
    }
}
