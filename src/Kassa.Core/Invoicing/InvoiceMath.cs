namespace Kassa.Core.Invoicing;

/// <summary>What a line bills (spec §7).</summary>
public enum LineType
{
    Recurring,
    Usage,
    OneTime,
    Proration,
    Manual,
    PriorPeriod,
}

/// <summary>
/// One invoice line before discount and tax. <paramref name="AmountMinor"/> is the line's amount in
/// minor units, already rounded once (half away from zero) by whoever priced it; negative for a credit
/// (unused time). <paramref name="UnitAmountDecimal"/> is informational (minor units, unrounded).
/// </summary>
public sealed record LineInput(LineType Type, string Description, decimal Quantity, decimal UnitAmountDecimal, long AmountMinor,
    DateTimeOffset? PeriodStart = null, DateTimeOffset? PeriodEnd = null, string? ProductId = null, string? FeatureId = null);

/// <summary>How a coupon reduces an invoice.</summary>
public enum CouponKind
{
    /// <summary><see cref="Coupon.Value"/> percent (0–100) of the eligible amount.</summary>
    Percentage,
    /// <summary><see cref="Coupon.Value"/> minor units, at most the eligible amount.</summary>
    Fixed,
}

/// <summary>
/// A discount to apply to this invoice. <paramref name="ProductIds"/> restricts it to lines of those
/// products (null: every line). Duration and redemption rules are decided before an invoice is built.
/// </summary>
public sealed record Coupon(CouponKind Kind, decimal Value, IReadOnlySet<string>? ProductIds = null);

/// <summary>A tax rate by the customer's address: <paramref name="Percentage"/> (0–100), added on top or included in the prices.</summary>
public sealed record TaxRate(string Name, decimal Percentage, bool Inclusive);

public sealed record InvoiceInput(IReadOnlyList<LineInput> Lines, Coupon? Coupon = null, TaxRate? Tax = null, long CustomerCreditMinor = 0);

/// <summary>A priced line: its amount, the part of the invoice discount it carries, and its tax.</summary>
public sealed record InvoiceLine(LineInput Line, long DiscountMinor, long TaxMinor);

/// <summary>
/// The figures of an invoice, all integers in minor units (spec §7). <c>Total = Subtotal − Discount +
/// Tax</c> with exclusive tax; with inclusive tax the tax is inside the prices and <c>Total = Subtotal −
/// Discount</c>. <c>AmountDue = Total − CreditApplied</c>, never negative; a negative total (credits
/// beyond the charges) is owed to the customer as <c>CreditGenerated</c>.
/// </summary>
public sealed record InvoiceFigures(IReadOnlyList<InvoiceLine> Lines, long Subtotal, long Discount, long Tax, long Total,
    long CreditApplied, long AmountDue, long CreditGenerated, bool TaxInclusive = false);

/// <summary>
/// Invoice arithmetic as one pure function: lines → discount → tax → customer credit → amount due.
/// Every rounding is half away from zero, once: the discount once for the invoice (then split over the
/// lines by largest remainder, so the parts sum exactly to it), the tax once per line.
/// </summary>
public static class InvoiceMath
{
    public static InvoiceFigures Build(InvoiceInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfNegative(input.CustomerCreditMinor);
        var lines = input.Lines;
        long subtotal = 0;
        foreach (var line in lines) subtotal = checked(subtotal + line.AmountMinor);

        // The discount is the coupon's figure, rounded once; the per-line parts must add up to it.
        var (discount, discounts) = Discounts(lines, input.Coupon);

        var taxes = new long[lines.Count];
        if (input.Tax is { } rate)
        {
            if (rate.Percentage is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(input), "A tax percentage is from 0 to 100.");
            for (var i = 0; i < lines.Count; i++)
            {
                var net = lines[i].AmountMinor - discounts[i];
                var exact = rate.Inclusive ? net * rate.Percentage / (100m + rate.Percentage) : net * rate.Percentage / 100m;
                taxes[i] = decimal.ToInt64(Math.Round(exact, 0, MidpointRounding.AwayFromZero));
            }
        }
        var tax = taxes.Sum();
        var total = input.Tax is { Inclusive: false } ? checked(subtotal - discount + tax) : checked(subtotal - discount);
        var creditApplied = Math.Min(input.CustomerCreditMinor, Math.Max(0, total));
        return new InvoiceFigures(
            [.. lines.Select((l, i) => new InvoiceLine(l, discounts[i], taxes[i]))],
            subtotal, discount, tax, total, creditApplied, Math.Max(0, total) - creditApplied, Math.Max(0, -total), input.Tax is { Inclusive: true });
    }

    /// <summary>
    /// The coupon's discount on each line. Only positive lines of eligible products carry it: the
    /// discount is taken from what is charged, never added to a credit. The invoice discount is rounded
    /// once and split over those lines in proportion to their amounts by largest remainder.
    /// </summary>
    private static (long Total, long[] Parts) Discounts(IReadOnlyList<LineInput> lines, Coupon? coupon)
    {
        var parts = new long[lines.Count];
        if (coupon is null) return (0, parts);
        var eligible = Enumerable.Range(0, lines.Count)
            .Where(i => lines[i].AmountMinor > 0 && (coupon.ProductIds is null || (lines[i].ProductId is { } p && coupon.ProductIds.Contains(p))))
            .ToList();
        long basis = 0;
        foreach (var i in eligible) basis = checked(basis + lines[i].AmountMinor);
        if (basis == 0) return (0, parts);
        var total = coupon.Kind switch
        {
            CouponKind.Percentage when coupon.Value is >= 0 and <= 100 =>
                decimal.ToInt64(Math.Round(basis * coupon.Value / 100m, 0, MidpointRounding.AwayFromZero)),
            CouponKind.Fixed when coupon.Value >= 0 => (long)Math.Min(basis, Math.Round(coupon.Value, 0, MidpointRounding.AwayFromZero)),
            _ => throw new ArgumentOutOfRangeException(nameof(coupon), "A percentage is from 0 to 100 and a fixed amount is not negative."),
        };
        return (total, Split(total, eligible, lines, parts, basis));
    }

    /// <summary>Largest-remainder split of <paramref name="total"/> over the eligible lines, in proportion to their amounts.</summary>
    private static long[] Split(long total, List<int> eligible, IReadOnlyList<LineInput> lines, long[] parts, long basis)
    {
        long given = 0;
        var remainders = new List<(int Index, decimal Remainder)>(eligible.Count);
        foreach (var i in eligible)
        {
            var exact = (decimal)total * lines[i].AmountMinor / basis;
            var floor = decimal.ToInt64(decimal.Floor(exact));
            parts[i] = floor;
            given += floor;
            remainders.Add((i, exact - floor));
        }
        // Ties go to the earlier line, so the split is deterministic.
        foreach (var (index, _) in remainders.OrderByDescending(r => r.Remainder).ThenBy(r => r.Index).Take((int)(total - given)))
            parts[index]++;
        return parts;
    }
}
