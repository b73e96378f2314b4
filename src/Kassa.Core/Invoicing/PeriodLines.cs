using Kassa.Core.Pricing;

namespace Kassa.Core.Invoicing;

/// <summary>A fixed fee of a subscribed product: <paramref name="UnitAmountMinor"/> per unit of the subscription's quantity per period.</summary>
public sealed record RecurringFee(string ProductId, string Description, long UnitAmountMinor);

/// <summary>Billable usage of one feature in a closed period: <paramref name="Units"/> beyond what the plan includes, priced by <paramref name="Price"/>.</summary>
public sealed record UsageCharge(string ProductId, string FeatureId, string Description, UsagePrice Price, decimal Units);

/// <summary>
/// The lines of a subscription's period invoice (spec §4.2): fixed fees for the coming period in
/// advance, usage of the closed period in arrears. Pure; each line is rounded once, half away from
/// zero, and a line that bills nothing is left out.
/// </summary>
public static class PeriodLines
{
    public static IReadOnlyList<LineInput> InAdvance(IEnumerable<RecurringFee> fees, long quantity, DateTimeOffset start, DateTimeOffset end)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(quantity);
        return [.. fees.Where(f => f.UnitAmountMinor > 0).Select(f => new LineInput(LineType.Recurring, f.Description, quantity, f.UnitAmountMinor,
            checked(f.UnitAmountMinor * quantity), start, end, f.ProductId))];
    }

    public static IReadOnlyList<LineInput> InArrears(IEnumerable<UsageCharge> usage, DateTimeOffset start, DateTimeOffset end, LineType type = LineType.Usage)
    {
        var lines = new List<LineInput>();
        foreach (var u in usage)
        {
            if (u.Units <= 0) continue;
            var exact = PriceCalculator.ExactAmount(u.Price, u.Units);
            var amount = PriceCalculator.Amount(u.Price, u.Units);
            if (amount == 0) continue;
            // The unit amount shown is the average the tiers came to, unrounded; the amount is rounded once.
            lines.Add(new LineInput(type, u.Description, u.Units, exact / u.Units, amount, start, end, u.ProductId, u.FeatureId));
        }
        return lines;
    }
}
