using Kassa.Core.Balances;

namespace Kassa.Core.Pricing;

/// <summary>
/// The money limit on billed overage (spec §5.5): a customer may set <c>max_overage_amount</c> for a
/// feature, and a check is denied once the overage of the current period, priced with the feature's
/// usage price, would pass it. Pure: the caller supplies the overage so far and what the check asks.
/// </summary>
public static class SpendCap
{
    /// <summary>
    /// True when taking <paramref name="requestedMicros"/> more, of which only the part beyond
    /// <paramref name="remainingMicros"/> becomes overage, would price the period's overage above
    /// <paramref name="maxOverageAmount"/> minor units. Reaching the cap exactly is still allowed:
    /// "would pass" means strictly more. Overage already past the cap denies every further overage,
    /// while a request the remaining balance still covers is never denied by the cap.
    /// </summary>
    /// <param name="price">The usage price that bills this feature's overage.</param>
    /// <param name="overageMicros">Overage of this period so far (recorded plus held past zero), in micro-units.</param>
    /// <param name="remainingMicros">What the balance still has before going past zero.</param>
    /// <param name="requestedMicros">What the check asks for.</param>
    /// <param name="maxOverageAmount">The cap in minor units of the price's currency.</param>
    public static bool WouldPass(UsagePrice price, long overageMicros, long remainingMicros, long requestedMicros, long maxOverageAmount)
    {
        ArgumentNullException.ThrowIfNull(price);
        ArgumentOutOfRangeException.ThrowIfNegative(overageMicros);
        ArgumentOutOfRangeException.ThrowIfNegative(remainingMicros);
        ArgumentOutOfRangeException.ThrowIfNegative(requestedMicros);
        var newOverage = requestedMicros > remainingMicros ? requestedMicros - remainingMicros : 0;
        if (newOverage == 0) return false;
        var after = checked(overageMicros + newOverage);
        return OverageAmount(price, after) > maxOverageAmount;
    }

    /// <summary>What <paramref name="overageMicros"/> of overage costs, rounded once half away from zero.</summary>
    public static long OverageAmount(UsagePrice price, long overageMicros) =>
        PriceCalculator.Amount(price, Micro.ToDecimal(overageMicros));
}
