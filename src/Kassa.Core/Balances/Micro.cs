namespace Kassa.Core.Balances;

/// <summary>
/// Conversions between API quantities (decimals with at most 6 fractional digits) and the integer
/// micro-units the balance core computes in (ADR 0004): 1 unit = 1,000,000 micro-units, so every
/// quantity the API accepts is represented exactly and sums never round.
/// </summary>
public static class Micro
{
    /// <summary>Micro-units in one unit.</summary>
    public const long PerUnit = 1_000_000;

    /// <summary>
    /// The largest magnitude accepted, in micro-units (9 × 10¹² units). It leaves headroom below
    /// <see cref="long.MaxValue"/> (≈ 9.22 × 10¹⁸) so a few large values can be added before checked
    /// arithmetic would overflow.
    /// </summary>
    public const long MaxAbs = 9_000_000_000_000_000_000;

    /// <summary>
    /// <see cref="MaxAbs"/> in units (9 × 10¹²): the one bound every quantity the API takes is held to
    /// (catalog <c>included</c> and <c>rollover.max</c>, grants, check and track values, adjustments),
    /// and the bound a balance's totals are kept within (<see cref="FeatureBalance"/>), so whatever
    /// validation accepts also converts and adds up.
    /// </summary>
    public const decimal MaxUnits = MaxAbs / PerUnit;

    /// <summary>What a field's message says when a quantity is past <see cref="MaxUnits"/> or too precise.</summary>
    public const string RangeMessage = "may have at most 6 fractional digits and must be at most 9000000000000 (9e12) in magnitude";

    private const decimal MaxAbsUnits = MaxUnits;

    /// <summary>
    /// Converts a quantity to micro-units. Returns false (and 0) when the value has a non-zero 7th
    /// or later fractional digit, or when |value| &gt; 9 × 10¹² units. Trailing zeros do not count as
    /// digits: <c>1.5000000m</c> is 1.5 and converts. Negative values convert (corrections).
    /// </summary>
    public static bool TryFromDecimal(decimal value, out long micro)
    {
        micro = 0;
        // Range first: the multiplication below cannot overflow for values inside it.
        if (value > MaxAbsUnits || value < -MaxAbsUnits) return false;
        // Multiplying by 10⁶ only moves the decimal point (the mantissa keeps its digits), so it is exact.
        var scaled = value * PerUnit;
        if (scaled != decimal.Truncate(scaled)) return false;
        micro = (long)scaled;
        return true;
    }

    /// <summary>
    /// Validates and converts a quantity in one step: null (and the micro-units) when it converts and is
    /// allowed, otherwise the message for its field. <paramref name="allowZero"/> and
    /// <paramref name="allowNegative"/> say which signs the field takes.
    /// </summary>
    public static string? Problem(decimal value, bool allowZero, bool allowNegative, out long micro)
    {
        if (!TryFromDecimal(value, out micro)) return RangeMessage;
        if (micro < 0 && !allowNegative) return allowZero ? "must be zero or more" : "must be greater than zero";
        if (micro == 0 && !allowZero) return allowNegative ? "must not be zero" : "must be greater than zero";
        return null;
    }

    /// <summary>
    /// The exact decimal value of <paramref name="micro"/> micro-units, normalized: no trailing
    /// fractional zeros (1,500,000 → <c>1.5</c>, 2,000,000 → <c>2</c>, 1 → <c>0.000001</c>), so it
    /// serializes to JSON the way a user wrote it.
    /// </summary>
    public static decimal ToDecimal(long micro)
    {
        // Work on the magnitude as ulong: -long.MinValue does not fit in a long.
        var negative = micro < 0;
        var mantissa = negative ? (ulong)(-(micro + 1)) + 1 : (ulong)micro;
        byte scale = 6;
        // Strip trailing zeros here rather than dividing decimals, so the result's scale is exactly
        // the number of significant fractional digits.
        while (scale > 0 && mantissa % 10 == 0)
        {
            mantissa /= 10;
            scale--;
        }
        return new decimal((int)(uint)mantissa, (int)(uint)(mantissa >> 32), 0, negative && mantissa != 0, scale);
    }
}
