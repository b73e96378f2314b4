namespace Kassa.Core.Money;

/// <summary>Where a currency's symbol goes relative to the number when an amount is formatted.</summary>
public enum SymbolPlacement
{
    /// <summary>Symbol directly before the number: <c>$20</c>, <c>€20</c>, <c>CA$20</c>.</summary>
    Before,

    /// <summary>Symbol and a space before the number: <c>CHF 20</c>, <c>PLN 20.00</c>.</summary>
    BeforeWithSpace,

    /// <summary>A space and the symbol after the number: <c>20 kr</c>.</summary>
    AfterWithSpace,
}

/// <summary>
/// An ISO 4217 currency as Kassa stores and shows it. <see cref="Code"/> is the lowercase
/// three-letter code, <see cref="Exponent"/> the number of minor-unit digits (2 for usd: an amount of
/// 2050 is $20.50; 0 for jpy: 2050 is ¥2,050; 3 for kwd: 2050 is KD 2.050), and <see cref="Symbol"/>
/// with <see cref="Placement"/> say how <see cref="MoneyFormat"/> decorates the number. Instances are
/// immutable and compare by value.
/// </summary>
public sealed record Currency
{
    /// <summary>The largest exponent accepted; ISO 4217 uses at most 4 (for units of account such as clf).</summary>
    public const int ExponentMax = 4;

    /// <summary>The longest symbol accepted, so a formatted amount stays bounded.</summary>
    public const int SymbolLengthMax = 8;

    /// <summary>Creates a currency; throws <see cref="ArgumentException"/> when a part is malformed.</summary>
    /// <param name="code">Three ASCII letters; stored lowercase.</param>
    /// <param name="exponent">Minor-unit digits, 0 to <see cref="ExponentMax"/>.</param>
    /// <param name="symbol">1 to <see cref="SymbolLengthMax"/> characters.</param>
    /// <param name="placement">Where the symbol goes.</param>
    public Currency(string code, int exponent, string symbol, SymbolPlacement placement)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(symbol);
        if (code.Length != 3 || !code.All(char.IsAsciiLetter))
            throw new ArgumentException("must be three ASCII letters", nameof(code));
        ArgumentOutOfRangeException.ThrowIfNegative(exponent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(exponent, ExponentMax);
        if (symbol.Length is 0 or > SymbolLengthMax)
            throw new ArgumentException($"must be 1 to {SymbolLengthMax} characters", nameof(symbol));
        if (!Enum.IsDefined(placement))
            throw new ArgumentOutOfRangeException(nameof(placement));
        Code = code.ToLowerInvariant();
        Exponent = exponent;
        Symbol = symbol;
        Placement = placement;
    }

    /// <summary>Lowercase ISO 4217 code, e.g. <c>usd</c>.</summary>
    public string Code { get; }

    /// <summary>Minor-unit digits: how many places the decimal point moves from minor to major units.</summary>
    public int Exponent { get; }

    /// <summary>The symbol shown when formatting, e.g. <c>$</c>, <c>CHF</c>, <c>kr</c>, or the uppercase code.</summary>
    public string Symbol { get; }

    /// <summary>Where <see cref="Symbol"/> goes relative to the number.</summary>
    public SymbolPlacement Placement { get; }
}
