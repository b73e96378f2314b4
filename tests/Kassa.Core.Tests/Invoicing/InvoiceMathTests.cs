using FsCheck;
using FsCheck.Fluent;
using Kassa.Core.Invoicing;
using Interval = Kassa.Core.Periods.Interval;
using PeriodMath = Kassa.Core.Periods.Periods;

namespace Kassa.Core.Tests.Invoicing;

public class ProrationTests
{
    private static DateTimeOffset At(int y, int m, int d, int h = 0, int min = 0, int s = 0) => new(y, m, d, h, min, s, TimeSpan.Zero);

    [Fact]
    public void An_upgrade_halfway_through_charges_the_new_price_and_credits_the_unused_half_of_the_old()
    {
        // Pro 3000 for [Apr 1, May 1) (30 days); Enterprise 5000 from Apr 16: 15 of 30 days unused.
        var lines = Proration.Upgrade("Enterprise", 5000, At(2026, 5, 16), "Pro", 3000, At(2026, 4, 1), At(2026, 5, 1), At(2026, 4, 16));
        Assert.Equal([("Enterprise", 5000L, LineType.Recurring), ("Unused time on Pro", -1500L, LineType.Proration)],
            lines.Select(l => (l.Description, l.AmountMinor, l.Type)).ToArray());
        Assert.Equal(3500, InvoiceMath.Build(new InvoiceInput(lines)).Total);
    }

    [Theory]
    // Anchor Jan 31: the period is [Jan 31, Feb 28) in 2026 (28 days); half of it is 14 days.
    [InlineData(2026, 2, 14, 2800, 1400)]
    // 2028 is a leap year: [Jan 31, Feb 29) is 29 days; from Feb 14 12:00, 14.5 days remain → 1400.
    [InlineData(2028, 2, 14, 2800, 1400)]
    public void Month_end_periods_prorate_by_their_own_length(int year, int month, int day, long price, long expected)
    {
        var (start, end) = PeriodMath.Containing(At(2026, 1, 31), Interval.Month, 1, At(year, 2, 1));
        Assert.Equal((At(year, 1, 31), At(year, 2, DateTime.IsLeapYear(year) ? 29 : 28)), (start, end));
        var from = year == 2028 ? At(year, month, day, 12) : At(year, month, day);
        Assert.Equal(expected, Proration.Prorate(price, Proration.Fraction(start, end, from, end)));
    }

    [Fact]
    public void Rounding_is_once_and_half_away_from_zero_so_a_credit_mirrors_its_charge()
    {
        // 1001 × 0.5 = 500.5 → 501, and the credit of the same share is −501.
        var half = Proration.Fraction(At(2026, 3, 1), At(2026, 3, 3), At(2026, 3, 2), At(2026, 3, 3));
        Assert.Equal(0.5m, half);
        Assert.Equal(501, Proration.Prorate(1001, half));
        Assert.Equal(-501, Proration.Prorate(-1001, half));
    }

    [Fact]
    public void Sub_second_parts_are_ignored_and_parts_outside_the_period_cover_nothing()
    {
        var start = At(2026, 3, 1);
        var end = At(2026, 3, 1, 0, 0, 10);
        Assert.Equal(0.5m, Proration.Fraction(start, end, start.AddSeconds(5).AddMilliseconds(999), end));
        Assert.Equal(0m, Proration.Fraction(start, end, end, end.AddDays(1)));
        Assert.Equal(1m, Proration.Fraction(start, end, start.AddDays(-1), end.AddDays(1)));
        Assert.Throws<ArgumentException>(() => Proration.Fraction(start, start, start, end));
        Assert.Throws<ArgumentException>(() => Proration.Fraction(start, end, end, start));
    }

    [Fact]
    public void Prorations_of_a_period_split_at_any_seconds_sum_to_the_full_price_within_one_minor_unit_per_line()
    {
        Prop.ForAll<uint, uint[], long>((lengthRaw, cutsRaw, priceRaw) =>
        {
            var start = At(2026, 1, 31, 7, 13, 5);
            var length = 1 + lengthRaw % (400 * 86_400);
            var end = start.AddSeconds(length);
            var price = Math.Abs(priceRaw % 10_000_000_000);
            var cuts = (cutsRaw ?? []).Select(c => start.AddSeconds(c % length)).Append(start).Append(end).Distinct().Order().ToList();
            long sum = 0;
            for (var i = 0; i + 1 < cuts.Count; i++) sum += Proration.Prorate(price, Proration.Fraction(start, end, cuts[i], cuts[i + 1]));
            var lines = cuts.Count - 1;
            return Math.Abs(sum - price) <= lines;
        }).QuickCheckThrowOnFailure();
    }
}

public class InvoiceMathTests
{
    private static LineInput Line(long amount, string? product = null, LineType type = LineType.Recurring) =>
        new(type, $"line {amount}", 1, amount, amount, ProductId: product);

    [Fact]
    public void Exclusive_tax_is_added_per_line_after_the_discount()
    {
        var figures = InvoiceMath.Build(new InvoiceInput([Line(2000, "pro"), Line(999, "seats")],
            new Coupon(CouponKind.Percentage, 10), new TaxRate("VAT", 19, Inclusive: false)));
        // Discount 10 % of 2999 = 299.9 → 300, split 2000:999 → 200 + 100. Tax 19 % of 1800 = 342 and of 899 = 170.81 → 171.
        Assert.Equal([(200L, 342L), (100L, 171L)], figures.Lines.Select(l => (l.DiscountMinor, l.TaxMinor)).ToArray());
        Assert.Equal((2999L, 300L, 513L, 3212L, 3212L), (figures.Subtotal, figures.Discount, figures.Tax, figures.Total, figures.AmountDue));
    }

    [Fact]
    public void Inclusive_tax_is_the_part_of_the_price_that_is_tax_and_is_not_added()
    {
        var figures = InvoiceMath.Build(new InvoiceInput([Line(1190)], Tax: new TaxRate("VAT", 19, Inclusive: true)));
        Assert.Equal((1190L, 0L, 190L, 1190L), (figures.Subtotal, figures.Discount, figures.Tax, figures.Total));
    }

    [Fact]
    public void A_product_restricted_coupon_discounts_only_its_products_and_never_a_credit()
    {
        var figures = InvoiceMath.Build(new InvoiceInput([Line(5000, "enterprise"), Line(-1500, "pro", LineType.Proration), Line(700, "addon")],
            new Coupon(CouponKind.Fixed, 10_000, new HashSet<string> { "enterprise", "pro" })));
        // A fixed 100.00 off is capped at the eligible charge (5000); the credit line and the add-on carry none.
        Assert.Equal([5000L, 0L, 0L], figures.Lines.Select(l => l.DiscountMinor).ToArray());
        Assert.Equal((4200L, 5000L, -800L, 0L, 800L), (figures.Subtotal, figures.Discount, figures.Total, figures.AmountDue, figures.CreditGenerated));
    }

    [Fact]
    public void Customer_credit_pays_what_it_can_and_amount_due_is_never_negative()
    {
        var partly = InvoiceMath.Build(new InvoiceInput([Line(2000)], CustomerCreditMinor: 500));
        Assert.Equal((2000L, 500L, 1500L), (partly.Total, partly.CreditApplied, partly.AmountDue));
        var wholly = InvoiceMath.Build(new InvoiceInput([Line(2000)], CustomerCreditMinor: 5000));
        Assert.Equal((2000L, 0L), (wholly.CreditApplied, wholly.AmountDue));
        var refund = InvoiceMath.Build(new InvoiceInput([Line(-300, type: LineType.Proration)], CustomerCreditMinor: 5000));
        Assert.Equal((0L, 0L, 300L), (refund.CreditApplied, refund.AmountDue, refund.CreditGenerated));
    }

    [Fact]
    public void A_discount_split_by_largest_remainder_sums_exactly()
    {
        // 100 % of three lines of 1: each exactly 1; 50 % of three lines of 1 is 1.5 → 2, split 1, 1, 0 (ties to the earlier line).
        var half = InvoiceMath.Build(new InvoiceInput([Line(1), Line(1), Line(1)], new Coupon(CouponKind.Percentage, 50)));
        Assert.Equal([1L, 1L, 0L], half.Lines.Select(l => l.DiscountMinor).ToArray());
        Assert.Equal(2, half.Discount);
    }

    private static readonly Gen<LineInput> LineGen =
        from amount in Gen.Choose(-200_000, 2_000_000)
        from product in Gen.Elements("a", "b", "c")
        select new LineInput(amount < 0 ? LineType.Proration : LineType.Recurring, "x", 1, amount, amount, ProductId: product);

    private static readonly Gen<Coupon?> CouponGen = Gen.OneOf(
        Gen.Constant<Coupon?>(null),
        Gen.Choose(0, 100).Select(p => (Coupon?)new Coupon(CouponKind.Percentage, p)),
        Gen.Choose(0, 3_000_000).Select(v => (Coupon?)new Coupon(CouponKind.Fixed, v, new HashSet<string> { "a", "b" })));

    private static readonly Gen<TaxRate?> TaxGen = Gen.OneOf(
        Gen.Constant<TaxRate?>(null),
        from p in Gen.Choose(0, 2_500)
        from inclusive in Gen.Elements(false, true)
        select (TaxRate?)new TaxRate("t", p / 100m, inclusive));

    [Fact]
    public void Totals_hold_for_any_lines_coupon_tax_and_credit()
    {
        var gen = from lines in Gen.ListOf(LineGen).Select(l => l.Take(12).ToArray())
                  from coupon in CouponGen
                  from tax in TaxGen
                  from credit in Gen.Choose(0, 5_000_000)
                  select new InvoiceInput(lines, coupon, tax, credit);
        Prop.ForAll(gen.ToArbitrary(), input =>
        {
            var f = InvoiceMath.Build(input);
            var positive = input.Lines.Where(l => l.AmountMinor > 0).Sum(l => l.AmountMinor);
            // A percentage coupon applies to every line: its discount is the percentage of the charges, rounded once.
            var expectedDiscount = input.Coupon is { Kind: CouponKind.Percentage } pc
                ? (long)Math.Round(positive * pc.Value / 100m, 0, MidpointRounding.AwayFromZero)
                : f.Discount;
            return f.Lines.Sum(l => l.DiscountMinor) == f.Discount && f.Discount == expectedDiscount
                && f.Lines.Sum(l => l.TaxMinor) == f.Tax
                && f.Discount >= 0 && f.Discount <= positive
                && f.Lines.All(l => l.DiscountMinor >= 0 && (l.Line.AmountMinor > 0 || l.DiscountMinor == 0))
                && f.Total == (input.Tax is { Inclusive: false } ? f.Subtotal - f.Discount + f.Tax : f.Subtotal - f.Discount)
                && f.AmountDue >= 0 && f.CreditApplied >= 0 && f.CreditApplied <= input.CustomerCreditMinor
                && f.AmountDue + f.CreditApplied - f.CreditGenerated == f.Total;
        }).QuickCheckThrowOnFailure();
    }
}
