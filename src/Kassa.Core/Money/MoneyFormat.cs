using System.Globalization;

namespace Kassa.Core.Money;

/// <summary>
/// Turns minor-unit amounts into display strings such as <c>$20.50</c>, <c>¥200,000</c>,
/// <c>CHF 20</c> or <c>20 kr</c>. Output never depends on the machine culture: the thousands
/// separator is always <c>,</c>, the decimal point always <c>.</c>, and a negative amount starts
/// with <c>-</c> before the symbol (<c>-$15</c>, <c>-CHF 15</c>, <c>-15 kr</c>).
/// </summary>
public static class MoneyFormat
{
    /// <summary>How many digits beyond the currency exponent <see cref="FormatDecimalMinor"/> shows at most.</summary>
    public const int ExtraFractionDigitsMax = 6;

    /// <summary>
    /// Formats an amount of minor units. The fraction is all-or-nothing: when it is zero and
    /// <paramref name="trimZeroFraction"/> is true no fraction is shown (<c>$20</c>, <c>KD 1</c>);
    /// otherwise every exponent digit is shown (<c>$20.50</c>, <c>$0.10</c>, <c>KD 1.500</c>,
    /// <c>$20.00</c>). Zero-exponent currencies never show a fraction.
    /// </summary>
    public static string Format(long amountMinor, Currency currency, bool trimZeroFraction = true)
    {
        ArgumentNullException.ThrowIfNull(currency);
        // Decimal holds every long exactly, including long.MinValue whose absolute value a long cannot.
        var magnitude = Math.Abs((decimal)amountMinor);
        var scale = Pow10(currency.Exponent);
        var whole = decimal.Truncate(magnitude / scale);
        var fraction = magnitude - whole * scale;
        var fractionText = currency.Exponent == 0 || fraction == 0 && trimZeroFraction
            ? ""
            : Digits(fraction, currency.Exponent);
        return Compose(amountMinor < 0, whole, fractionText, currency);
    }

    /// <summary>
    /// Formats a possibly fractional amount of minor units, as unit prices need: 0.5 cents is
    /// <c>$0.005</c>. The amount is rounded half away from zero to at most exponent +
    /// <see cref="ExtraFractionDigitsMax"/> fraction digits. A fraction that is zero after rounding
    /// is dropped (<c>$20</c>, like <see cref="Format"/>); any other fraction shows at least the
    /// exponent's digits and as many more as needed, without trailing zeros (<c>$0.10</c>,
    /// <c>$0.005</c>, <c>$0.0000001</c>). An amount that rounds to zero is shown without a sign.
    /// </summary>
    public static string FormatDecimalMinor(decimal amountMinor, Currency currency)
    {
        ArgumentNullException.ThrowIfNull(currency);
        var digitsMax = currency.Exponent + ExtraFractionDigitsMax;
        // Rounding happens once, on the minor-unit amount where it is exact; six fraction digits of
        // a minor unit are exponent + six digits of a major unit, and the division that follows
        // only moves the decimal point.
        var roundedMinor = Math.Round(Math.Abs(amountMinor), ExtraFractionDigitsMax, MidpointRounding.AwayFromZero);
        var major = roundedMinor / Pow10(currency.Exponent);
        var whole = decimal.Truncate(major);
        var fraction = major - whole;
        var fractionText = "";
        if (fraction != 0)
        {
            var text = Digits(fraction * Pow10(digitsMax), digitsMax);
            var keep = text.Length;
            while (keep > currency.Exponent && text[keep - 1] == '0') keep--;
            fractionText = text[..keep];
        }
        return Compose(amountMinor < 0 && major != 0, whole, fractionText, currency);
    }

    private static string Compose(bool negative, decimal whole, string fractionText, Currency currency)
    {
        var number = whole.ToString("#,0", CultureInfo.InvariantCulture);
        if (fractionText.Length > 0) number += "." + fractionText;
        var decorated = currency.Placement switch
        {
            SymbolPlacement.Before => currency.Symbol + number,
            SymbolPlacement.BeforeWithSpace => currency.Symbol + " " + number,
            SymbolPlacement.AfterWithSpace => number + " " + currency.Symbol,
            _ => throw new ArgumentOutOfRangeException(nameof(currency)),
        };
        return negative ? "-" + decorated : decorated;
    }

    // A non-negative whole decimal written with exactly `width` digits, zero-padded on the left.
    private static string Digits(decimal value, int width) =>
        decimal.Truncate(value).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');

    internal static decimal Pow10(int exponent)
    {
        var result = 1m;
        for (var i = 0; i < exponent; i++) result *= 10m;
        return result;
    }
}
