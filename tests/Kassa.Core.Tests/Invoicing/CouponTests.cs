using Kassa.Core.Invoicing;

namespace Kassa.Core.Tests.Invoicing;

public class CouponTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    private static CouponTerms Terms(CouponType type = CouponType.Percentage, decimal value = 20, string? currency = null,
        CouponDuration duration = CouponDuration.Once, int? cycles = null, int? max = null, DateTimeOffset? expires = null,
        IReadOnlySet<string>? products = null, bool archived = false) =>
        new("SAVE", type, value, currency, duration, cycles, max, expires, products, archived);

    [Fact]
    public void A_percentage_is_rounded_once_half_away_from_zero_and_a_fixed_amount_is_capped()
    {
        Assert.Equal(new CouponQuote(true, 250, 999, null), Coupons.Quote(Terms(value: 20), 0, "pro", 1249, "usd", Now)); // 249.8 → 250
        Assert.Equal(new CouponQuote(true, 2, 1, null), Coupons.Quote(Terms(value: 50), 0, "pro", 3, "usd", Now)); // 1.5 → 2
    }

    [Fact]
    public void Refusals_say_why_and_take_nothing_off()
    {
        Assert.Equal("expired", Coupons.Quote(Terms(expires: Now), 0, "pro", 1000, "usd", Now).Reason);
        Assert.Equal("max_redemptions_reached", Coupons.Quote(Terms(max: 3), 3, "pro", 1000, "usd", Now).Reason);
        Assert.True(Coupons.Quote(Terms(max: 3), 2, "pro", 1000, "usd", Now).Valid);
        Assert.Equal("not_applicable_to_product", Coupons.Quote(Terms(products: new HashSet<string> { "enterprise" }), 0, "pro", 1000, "usd", Now).Reason);
        Assert.Equal("currency_mismatch", Coupons.Quote(Terms(CouponType.Fixed, 500, "eur"), 0, "pro", 1000, "usd", Now).Reason);
        Assert.Equal("archived", Coupons.Quote(Terms(archived: true), 0, "pro", 1000, "usd", Now).Reason);
        Assert.Equal(new CouponQuote(false, 0, 1000, "expired"), Coupons.Quote(Terms(expires: Now.AddSeconds(-1)), 0, "pro", 1000, "usd", Now));
    }

    [Fact]
    public void Fixed_coupons_never_take_more_than_the_amount_and_trial_extensions_take_nothing()
    {
        Assert.Equal(new CouponQuote(true, 700, 0, null), Coupons.Quote(Terms(CouponType.Fixed, 5000, "USD"), 0, "pro", 700, "usd", Now));
        Assert.Equal(new CouponQuote(true, 0, 700, null), Coupons.Quote(Terms(CouponType.TrialExtension, 14), 0, "pro", 700, "usd", Now));
        Assert.Null(Coupons.ForInvoice(Terms(CouponType.TrialExtension, 14)));
    }

    [Theory]
    [InlineData(CouponDuration.Once, null, new[] { true, false, false, false })]
    [InlineData(CouponDuration.Repeating, 3, new[] { true, true, true, false })]
    [InlineData(CouponDuration.Forever, null, new[] { true, true, true, true })]
    public void A_redemption_covers_the_invoices_its_duration_says(CouponDuration duration, int? cycles, bool[] expected)
    {
        var terms = Terms(duration: duration, cycles: cycles);
        Assert.Equal(expected, Enumerable.Range(0, 4).Select(c => Coupons.AppliesToCycle(terms, c)).ToArray());
    }

    [Theory]
    [InlineData(CouponType.Percentage, 0, null, CouponDuration.Once, null, "value")]
    [InlineData(CouponType.Percentage, 101, null, CouponDuration.Once, null, "value")]
    [InlineData(CouponType.Fixed, 500, null, CouponDuration.Once, null, "currency")]
    [InlineData(CouponType.Fixed, 2.5, "usd", CouponDuration.Once, null, "value")]
    [InlineData(CouponType.Percentage, 10, "usd", CouponDuration.Once, null, "currency")]
    [InlineData(CouponType.Percentage, 10, null, CouponDuration.Repeating, null, "duration_in_cycles")]
    [InlineData(CouponType.Percentage, 10, null, CouponDuration.Forever, 3, "duration_in_cycles")]
    [InlineData(CouponType.TrialExtension, 0, null, CouponDuration.Once, null, "value")]
    public void Invalid_terms_name_the_field(CouponType type, double value, string? currency, CouponDuration duration, int? cycles, string field)
    {
        var errors = Coupons.ValidateTerms(Terms(type, (decimal)value, currency, duration, cycles));
        Assert.Equal([field], errors.Select(e => e.Field).ToArray());
    }

    [Fact]
    public void Valid_terms_have_no_errors()
    {
        Assert.Empty(Coupons.ValidateTerms(Terms(CouponType.Fixed, 500, "usd", CouponDuration.Repeating, 3, 100, Now.AddDays(30), new HashSet<string> { "pro" })));
    }
}
