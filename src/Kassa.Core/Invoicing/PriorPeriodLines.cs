using Kassa.Core.Pricing;

namespace Kassa.Core.Invoicing;

/// <summary>
/// The line for usage of a period already invoiced that grew afterwards (late events, spec §6): priced
/// at the margin, <c>price(new total) − what was already billed</c>, so the tiers a graduated or volume
/// price reached stay right and the period's lines together are the price of its whole usage, rounded
/// once. Pure.
/// </summary>
public static class PriorPeriodLines
{
    /// <summary>
    /// The <c>prior_period</c> line for <paramref name="total"/> (the period's usage now, in
    /// <c>total.Units</c>) when <paramref name="billedUnits"/> units were billed for
    /// <paramref name="billedAmount"/> minor units; null when nothing more is owed. Usage that shrank (a
    /// <c>min</c> meter) is never credited here: a credit goes through a credit note, deliberately.
    /// </summary>
    public static LineInput? Difference(UsageCharge total, decimal billedUnits, long billedAmount, DateTimeOffset start, DateTimeOffset end)
    {
        ArgumentNullException.ThrowIfNull(total);
        var units = total.Units - billedUnits;
        if (units <= 0) return null;
        var amount = PriceCalculator.Amount(total.Price, total.Units) - billedAmount;
        if (amount <= 0) return null;
        // The unit amount shown is the marginal average, unrounded; the amount is the rounded difference.
        var exact = PriceCalculator.ExactAmount(total.Price, total.Units) - PriceCalculator.ExactAmount(total.Price, Math.Max(0, billedUnits));
        return new LineInput(LineType.PriorPeriod, total.Description, units, exact / units, amount, start, end, total.ProductId, total.FeatureId);
    }
}
