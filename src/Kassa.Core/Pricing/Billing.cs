namespace Kassa.Core.Pricing;

/// <summary>Small rules that sit between metered usage and a price.</summary>
public static class Billing
{
    /// <summary>
    /// The usage left to charge after an included allowance: max(0, usage − included). A null
    /// allowance means unlimited, so nothing is billable. Usage below the allowance, or negative
    /// net usage after corrections, bills 0 rather than a credit; credits are issued explicitly,
    /// never as a side effect of metering. A negative allowance is a catalog error and throws
    /// <see cref="ArgumentOutOfRangeException"/>.
    /// </summary>
    public static decimal Billable(decimal usage, decimal? included)
    {
        if (included is not { } allowance) return 0m;
        ArgumentOutOfRangeException.ThrowIfNegative(allowance, nameof(included));
        // Comparing before subtracting keeps a very negative usage from overflowing the subtraction.
        return usage > allowance ? usage - allowance : 0m;
    }
}
