using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Kassa.Core.Money;

/// <summary>
/// The ISO 4217 currencies Kassa accepts, with their minor-unit exponents and display symbols.
/// Lookups are case-insensitive; every <see cref="Currency.Code"/> in the table is lowercase.
/// </summary>
public static class Currencies
{
    private const SymbolPlacement Before = SymbolPlacement.Before;
    private const SymbolPlacement Spaced = SymbolPlacement.BeforeWithSpace;
    private const SymbolPlacement After = SymbolPlacement.AfterWithSpace;

    // Exponents follow the ISO 4217 minor-unit column, not any payment provider's quirks (some
    // providers charge isk or twd in hundredths even though ISO says otherwise), because stored
    // amounts must mean the same thing whichever provider later collects them. Symbols follow
    // the English CLDR short symbols where those are unambiguous; a currency whose only symbol
    // would be confused with another's (a bare "$" or "¥") gets a prefixed form, and one without
    // a widely read symbol shows its uppercase code followed by a space.
    private static readonly Currency[] Table =
    [
        // Two minor-unit digits, symbol directly before the number.
        new("usd", 2, "$", Before),
        new("eur", 2, "€", Before),
        new("gbp", 2, "£", Before),
        new("cad", 2, "CA$", Before),
        new("aud", 2, "A$", Before),
        new("nzd", 2, "NZ$", Before),
        new("hkd", 2, "HK$", Before),
        new("sgd", 2, "S$", Before),
        new("twd", 2, "NT$", Before),
        new("inr", 2, "₹", Before),
        new("cny", 2, "CN¥", Before),
        new("brl", 2, "R$", Before),
        new("mxn", 2, "MX$", Before),
        new("ils", 2, "₪", Before),
        new("php", 2, "₱", Before),
        new("thb", 2, "฿", Before),
        new("ngn", 2, "₦", Before),
        new("uah", 2, "₴", Before),
        new("try", 2, "₺", Before),
        new("egp", 2, "E£", Before),
        new("zar", 2, "R", Before),
        new("myr", 2, "RM", Before),

        // Two minor-unit digits, symbol and a space before the number.
        new("chf", 2, "CHF", Spaced),

        // Two minor-unit digits, symbol after the number, as these currencies are written at home.
        new("sek", 2, "kr", After),
        new("nok", 2, "kr", After),
        new("dkk", 2, "kr", After),
        new("czk", 2, "Kč", After),
        new("huf", 2, "Ft", After),

        // Two minor-unit digits without a widely read symbol: the uppercase code.
        new("pln", 2, "PLN", Spaced),
        new("ron", 2, "RON", Spaced),
        new("bgn", 2, "BGN", Spaced),
        new("rsd", 2, "RSD", Spaced),
        new("rub", 2, "RUB", Spaced),
        new("gel", 2, "GEL", Spaced),
        new("kzt", 2, "KZT", Spaced),
        new("aed", 2, "AED", Spaced),
        new("sar", 2, "SAR", Spaced),
        new("qar", 2, "QAR", Spaced),
        new("mad", 2, "MAD", Spaced),
        new("kes", 2, "KES", Spaced),
        new("ghs", 2, "GHS", Spaced),
        new("tzs", 2, "TZS", Spaced),
        new("idr", 2, "IDR", Spaced),
        new("pkr", 2, "PKR", Spaced),
        new("bdt", 2, "BDT", Spaced),
        new("lkr", 2, "LKR", Spaced),
        new("cop", 2, "COP", Spaced),
        new("ars", 2, "ARS", Spaced),
        new("pen", 2, "PEN", Spaced),
        new("uyu", 2, "UYU", Spaced),
        new("dop", 2, "DOP", Spaced),
        new("crc", 2, "CRC", Spaced),

        // Zero minor-unit digits: amounts are whole units.
        new("jpy", 0, "¥", Before),
        new("krw", 0, "₩", Before),
        new("vnd", 0, "₫", Before),
        new("isk", 0, "kr", After),
        new("clp", 0, "CLP", Spaced),
        new("pyg", 0, "PYG", Spaced),
        new("ugx", 0, "UGX", Spaced),
        new("rwf", 0, "RWF", Spaced),
        new("bif", 0, "BIF", Spaced),
        new("djf", 0, "DJF", Spaced),
        new("gnf", 0, "GNF", Spaced),
        new("kmf", 0, "KMF", Spaced),
        new("vuv", 0, "VUV", Spaced),
        new("xaf", 0, "XAF", Spaced),
        new("xof", 0, "XOF", Spaced),
        new("xpf", 0, "XPF", Spaced),

        // Three minor-unit digits: amounts are thousandths.
        new("kwd", 3, "KD", Spaced),
        new("bhd", 3, "BD", Spaced),
        new("jod", 3, "JD", Spaced),
        new("omr", 3, "OMR", Spaced),
        new("tnd", 3, "TND", Spaced),
        new("iqd", 3, "IQD", Spaced),
        new("lyd", 3, "LYD", Spaced),
    ];

    private static readonly FrozenDictionary<string, Currency> ByCode =
        Table.ToFrozenDictionary(c => c.Code, StringComparer.Ordinal);

    /// <summary>Every supported currency, in no guaranteed order.</summary>
    public static IReadOnlyCollection<Currency> All => ByCode.Values;

    /// <summary>
    /// Finds a currency by its ISO 4217 code in any letter case. Returns false for null, for
    /// anything that is not three letters, and for codes Kassa does not support.
    /// </summary>
    public static bool TryGet(string? code, [NotNullWhen(true)] out Currency? currency)
    {
        currency = null;
        // Checking the length first keeps lookups of hostile input cheap and bounded.
        if (code is null || code.Length != 3) return false;
        return ByCode.TryGetValue(code.ToLowerInvariant(), out currency);
    }

    /// <summary>Finds a currency by code in any letter case; throws <see cref="ArgumentException"/> when unsupported.</summary>
    public static Currency Get(string code) =>
        TryGet(code, out var currency) ? currency : throw new ArgumentException($"unsupported currency '{Truncate(code)}'", nameof(code));

    /// <summary>Whether <paramref name="code"/>, in any letter case, names a supported currency.</summary>
    public static bool IsSupported(string? code) => TryGet(code, out _);

    // The message echoes at most a few characters so a huge argument cannot make a huge exception,
    // and never cuts a surrogate pair in half so the message stays valid text.
    private static string Truncate(string? code)
    {
        if (code is null) return "";
        if (code.Length <= 8) return code;
        var keep = char.IsHighSurrogate(code[7]) ? 7 : 8;
        return code[..keep] + "…";
    }
}
