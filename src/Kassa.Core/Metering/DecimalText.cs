using System.Globalization;
using Kassa.Core.Balances;

namespace Kassa.Core.Metering;

/// <summary>
/// The exact value of a decimal number written as text: <c>±Digits × 10^Exponent</c>, where
/// <see cref="Digits"/> has no leading or trailing zeros (empty for zero, which is never negative).
/// <para>
/// Why not <see cref="decimal.Parse(string)"/>: it rounds past 28–29 significant digits and flushes
/// tiny exponents to zero, so <c>1.00000000000000000000000000001</c> would read as 1 and
/// <c>1e-30</c> as 0, silently accepting values with far more than 6 fractional digits. Working on
/// the digits keeps every comparison and every limit exact, whatever the client writes.
/// </para>
/// </summary>
internal readonly record struct DecimalText(bool Negative, string Digits, long Exponent)
{
    // A saturated exponent keeps the arithmetic below in range; any number this far out is rejected
    // (or rendered in scientific form) long before the exact exponent would matter.
    private const long ExponentLimit = 1_000_000_000;

    // Plain rendering (no exponent) is used while the integer and fraction parts stay this short.
    private const int PlainDigitsMax = 40;

    // Digits left of the point that still fit Micro's range (9 × 10¹² units).
    private const int IntegerDigitsMax = 13;

    public bool IsZero => Digits.Length == 0;

    /// <summary>Significant digits right of the decimal point (0.50 has one).</summary>
    public long FractionDigits => Exponent >= 0 ? 0 : -Exponent;

    /// <summary>Digits left of the decimal point, leading zeros not counted (0.5 has none).</summary>
    public long IntegerDigits => Math.Max(0, Digits.Length + Exponent);

    /// <summary>
    /// Parses <c>-?digit+(.digit+)?</c>, followed by <c>[eE][+-]?digit+</c> when
    /// <paramref name="allowExponent"/>: the JSON number grammar, except that leading zeros are
    /// tolerated. No spaces, no <c>+</c> sign, no bare <c>.5</c> or <c>5.</c>.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, bool allowExponent, out DecimalText value)
    {
        value = default;
        var i = 0;
        var negative = i < text.Length && text[i] == '-';
        if (negative) i++;
        var integerStart = i;
        while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
        var integer = text[integerStart..i];
        if (integer.IsEmpty) return false;
        var fraction = ReadOnlySpan<char>.Empty;
        if (i < text.Length && text[i] == '.')
        {
            var fractionStart = ++i;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            fraction = text[fractionStart..i];
            if (fraction.IsEmpty) return false;
        }
        long exponent = 0;
        if (allowExponent && i < text.Length && text[i] is 'e' or 'E')
        {
            i++;
            var exponentNegative = i < text.Length && text[i] == '-';
            if (i < text.Length && text[i] is '-' or '+') i++;
            var exponentStart = i;
            for (; i < text.Length && char.IsAsciiDigit(text[i]); i++)
            {
                if (exponent < ExponentLimit) exponent = exponent * 10 + (text[i] - '0');
            }
            if (i == exponentStart) return false;
            if (exponentNegative) exponent = -exponent;
        }
        if (i != text.Length) return false;

        // All digits as one integer mantissa; the point moves into the exponent.
        var digits = string.Concat(integer, fraction).AsSpan().TrimStart('0');
        exponent -= fraction.Length;
        var trimmed = digits.TrimEnd('0');
        exponent += digits.Length - trimmed.Length;
        value = trimmed.IsEmpty ? new DecimalText(false, "", 0) : new DecimalText(negative, trimmed.ToString(), exponent);
        return true;
    }

    /// <summary>
    /// One text per value, so equal numbers compare equal as strings: no exponent, no trailing
    /// fractional zeros, no leading zeros, no <c>-0</c> (<c>1.0</c>, <c>1e0</c> and <c>1</c> all give
    /// <c>1</c>; <c>1.50e1</c> gives <c>15</c>). Numbers whose plain form would be absurdly long
    /// (more than 40 integer or fraction digits) use scientific form, <c>1.5e100</c>.
    /// </summary>
    public string Canonical()
    {
        if (IsZero) return "0";
        var sign = Negative ? "-" : "";
        if (IntegerDigits > PlainDigitsMax || FractionDigits > PlainDigitsMax)
        {
            var mantissa = Digits.Length == 1 ? Digits : Digits[..1] + "." + Digits[1..];
            return sign + mantissa + "e" + (Digits.Length - 1 + Exponent).ToString(CultureInfo.InvariantCulture);
        }
        if (Exponent >= 0) return sign + Digits + new string('0', (int)Exponent);
        var point = Digits.Length + (int)Exponent;
        return point > 0
            ? sign + Digits[..point] + "." + Digits[point..]
            : sign + "0." + new string('0', -point) + Digits;
    }

    /// <summary>
    /// Converts to micro-units when the value has at most 6 fractional digits and lies within
    /// <see cref="Micro.MaxAbs"/>; otherwise says which limit it breaks.
    /// </summary>
    public bool TryToMicros(out long micros, out MicroProblem problem)
    {
        micros = 0;
        problem = MicroProblem.None;
        if (IsZero) return true;
        if (FractionDigits > 6)
        {
            problem = MicroProblem.TooManyFractionDigits;
            return false;
        }
        if (IntegerDigits > IntegerDigitsMax)
        {
            problem = MicroProblem.OutOfRange;
            return false;
        }
        // Now Digits has at most 13 + 6 = 19 digits, which fit a ulong, and the value fits a decimal exactly.
        var mantissa = ulong.Parse(Digits, NumberStyles.None, CultureInfo.InvariantCulture);
        decimal value;
        if (Exponent >= 0)
        {
            value = mantissa;
            for (var k = 0; k < Exponent; k++) value *= 10;
            if (Negative) value = -value;
        }
        else
        {
            value = new decimal((int)(uint)mantissa, (int)(uint)(mantissa >> 32), 0, Negative, (byte)FractionDigits);
        }
        if (!Micro.TryFromDecimal(value, out micros))
        {
            problem = MicroProblem.OutOfRange;
            return false;
        }
        return true;
    }
}

/// <summary>Why a number cannot become micro-units.</summary>
internal enum MicroProblem
{
    None,
    TooManyFractionDigits,
    OutOfRange,
}
