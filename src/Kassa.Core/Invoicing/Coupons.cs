using Kassa.Core.Errors;

namespace Kassa.Core.Invoicing;

/// <summary>What a coupon does (spec §7).</summary>
public enum CouponType
{
    /// <summary><c>value</c> percent off (0 &lt; value ≤ 100).</summary>
    Percentage,
    /// <summary><c>value</c> minor units off, in the coupon's currency.</summary>
    Fixed,
    /// <summary><c>value</c> more days of trial; no money off.</summary>
    TrialExtension,
}

/// <summary>For how many invoices a redeemed coupon applies.</summary>
public enum CouponDuration
{
    Once,
    /// <summary><c>duration_in_cycles</c> invoices.</summary>
    Repeating,
    Forever,
}

/// <summary>A coupon's terms as created (spec §7 <c>POST /v1/coupons</c>).</summary>
public sealed record CouponTerms(string Code, CouponType Type, decimal Value, string? Currency, CouponDuration Duration, int? DurationInCycles,
    int? MaxRedemptions, DateTimeOffset? ExpiresAt, IReadOnlySet<string>? ProductIds, bool Archived = false);

/// <summary>The answer of <c>POST /v1/coupons/validate</c>: what the coupon takes off an amount, or why it does not apply.</summary>
public sealed record CouponQuote(bool Valid, long DiscountMinor, long FinalMinor, string? Reason);

/// <summary>Coupon rules, pure: terms validation, quotes, which invoices a redemption covers.</summary>
public static class Coupons
{
    public const int CyclesMax = 1_000;
    public const int RedemptionsMax = 100_000_000;
    public const int TrialExtensionDaysMax = 3_650;

    /// <summary>The field-level problems of new terms (empty when they are fine).</summary>
    public static IReadOnlyList<FieldError> ValidateTerms(CouponTerms t)
    {
        var errors = new List<FieldError>();
        switch (t.Type)
        {
            case CouponType.Percentage when t.Value is <= 0 or > 100:
                errors.Add(new FieldError("value", "must be more than 0 and at most 100 for a percentage coupon"));
                break;
            case CouponType.Fixed when t.Value <= 0 || t.Value != decimal.Truncate(t.Value) || t.Value > long.MaxValue:
                errors.Add(new FieldError("value", "must be a whole number of minor units above 0 for a fixed coupon"));
                break;
            case CouponType.TrialExtension when t.Value <= 0 || t.Value != decimal.Truncate(t.Value) || t.Value > TrialExtensionDaysMax:
                errors.Add(new FieldError("value", $"must be a whole number of days from 1 to {TrialExtensionDaysMax} for a trial extension"));
                break;
        }
        if (t.Type == CouponType.Fixed && t.Currency is null) errors.Add(new FieldError("currency", "is required for a fixed coupon"));
        if (t.Type != CouponType.Fixed && t.Currency is not null) errors.Add(new FieldError("currency", "applies only to a fixed coupon"));
        if (t.Duration == CouponDuration.Repeating && t.DurationInCycles is not (>= 1 and <= CyclesMax))
            errors.Add(new FieldError("duration_in_cycles", $"must be 1 to {CyclesMax} for a repeating coupon"));
        if (t.Duration != CouponDuration.Repeating && t.DurationInCycles is not null)
            errors.Add(new FieldError("duration_in_cycles", "applies only to a repeating coupon"));
        if (t.MaxRedemptions is < 1 or > RedemptionsMax) errors.Add(new FieldError("max_redemptions", $"must be 1 to {RedemptionsMax:#,0}"));
        if (t.ProductIds is { Count: 0 }) errors.Add(new FieldError("product_ids", "must name at least one product when given"));
        return errors;
    }

    /// <summary>
    /// What the coupon takes off <paramref name="amountMinor"/> of <paramref name="productId"/> at
    /// <paramref name="now"/>, given how often it was redeemed. Rounded once, half away from zero; never
    /// more than the amount. A trial extension is valid and takes nothing off.
    /// </summary>
    public static CouponQuote Quote(CouponTerms t, long redemptions, string productId, long amountMinor, string currency, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amountMinor);
        string? reason =
            t.Archived ? "archived"
            : t.ExpiresAt is { } e && now >= e ? "expired"
            : t.MaxRedemptions is { } max && redemptions >= max ? "max_redemptions_reached"
            : t.ProductIds is { } ids && !ids.Contains(productId) ? "not_applicable_to_product"
            : t.Type == CouponType.Fixed && !string.Equals(t.Currency, currency, StringComparison.OrdinalIgnoreCase) ? "currency_mismatch"
            : null;
        if (reason is not null) return new CouponQuote(false, 0, amountMinor, reason);
        var discount = t.Type switch
        {
            CouponType.Percentage => decimal.ToInt64(Math.Round(amountMinor * t.Value / 100m, 0, MidpointRounding.AwayFromZero)),
            CouponType.Fixed => (long)Math.Min(amountMinor, t.Value),
            _ => 0,
        };
        return new CouponQuote(true, discount, amountMinor - discount, null);
    }

    /// <summary>Whether a redemption still applies to the invoice <paramref name="cycle"/> invoices after it (0 = the first).</summary>
    public static bool AppliesToCycle(CouponTerms t, int cycle)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cycle);
        return t.Type != CouponType.TrialExtension && t.Duration switch
        {
            CouponDuration.Once => cycle == 0,
            CouponDuration.Repeating => cycle < (t.DurationInCycles ?? 0),
            _ => true,
        };
    }

    /// <summary>The discount <see cref="InvoiceMath"/> applies for these terms; null for a trial extension.</summary>
    public static Coupon? ForInvoice(CouponTerms t) => t.Type switch
    {
        CouponType.Percentage => new Coupon(CouponKind.Percentage, t.Value, t.ProductIds),
        CouponType.Fixed => new Coupon(CouponKind.Fixed, t.Value, t.ProductIds),
        _ => null,
    };
}
