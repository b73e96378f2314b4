namespace Kassa.Core.Invoicing;

/// <summary>
/// Proration by the second (spec §4.1): the share of a period that a part of it covers, and an amount
/// for that share rounded once, half away from zero. Pure; time is passed in.
/// </summary>
public static class Proration
{
    /// <summary>
    /// The fraction of the half-open period <c>[periodStart, periodEnd)</c> covered by <c>[from, to)</c>,
    /// counted in whole seconds (sub-second parts of the instants are ignored, so a period is never
    /// split finer than the unit the spec prorates by). 0 when they do not overlap; 1 when the part
    /// covers the whole period. Throws <see cref="ArgumentException"/> when the period is shorter than
    /// one second or <paramref name="to"/> is before <paramref name="from"/>.
    /// </summary>
    public static decimal Fraction(DateTimeOffset periodStart, DateTimeOffset periodEnd, DateTimeOffset from, DateTimeOffset to)
    {
        if (to < from) throw new ArgumentException("The part must not end before it starts.", nameof(to));
        var start = Seconds(periodStart);
        var end = Seconds(periodEnd);
        if (end - start < 1) throw new ArgumentException("The period must be at least one second long.", nameof(periodEnd));
        var covered = Math.Min(end, Seconds(to)) - Math.Max(start, Seconds(from));
        if (covered <= 0) return 0m;
        return (decimal)covered / (end - start);
    }

    /// <summary>
    /// <paramref name="amountMinor"/> × <paramref name="fraction"/> (0–1), rounded once, half away from
    /// zero, so a credit is the exact negative of the charge it reverses.
    /// </summary>
    public static long Prorate(long amountMinor, decimal fraction)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fraction);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fraction, 1m);
        return decimal.ToInt64(Math.Round(amountMinor * fraction, 0, MidpointRounding.AwayFromZero));
    }

    /// <summary>
    /// The lines of an upgrade at <paramref name="now"/> (spec §4.1): the new product starts a new period
    /// now and is charged in full; the unused part of the old period, <c>[now, oldPeriodEnd)</c>, is
    /// credited as a negative proration line. Amounts in minor units.
    /// </summary>
    public static IReadOnlyList<LineInput> Upgrade(string newDescription, long newAmountMinor, DateTimeOffset newPeriodEnd,
        string oldDescription, long oldAmountMinor, DateTimeOffset oldPeriodStart, DateTimeOffset oldPeriodEnd, DateTimeOffset now,
        string? newProductId = null, string? oldProductId = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newAmountMinor);
        ArgumentOutOfRangeException.ThrowIfNegative(oldAmountMinor);
        var unused = Prorate(oldAmountMinor, Fraction(oldPeriodStart, oldPeriodEnd, now, oldPeriodEnd));
        var lines = new List<LineInput>
        {
            new(LineType.Recurring, newDescription, 1, newAmountMinor, newAmountMinor, now, newPeriodEnd, newProductId),
        };
        if (unused > 0)
            lines.Add(new LineInput(LineType.Proration, $"Unused time on {oldDescription}", 1, -unused, -unused, now, oldPeriodEnd, oldProductId));
        return lines;
    }

    private static long Seconds(DateTimeOffset t) => t.ToUnixTimeSeconds();
}
