namespace Kassa.Core.Payments;

/// <summary>A card's brand, from its number's prefix (enough for display and the sandbox).</summary>
public enum CardBrand
{
    Visa,
    Mastercard,
    Amex,
    Discover,
    Unknown,
}

/// <summary>A card as a payment method shows it: never the full number or the CVC.</summary>
public sealed record CardSummary(CardBrand Brand, string Last4, int ExpMonth, int ExpYear);

/// <summary>
/// Checks a card the way a provider would before storing it: digits only (spaces allowed), 12–19 of
/// them with a valid Luhn check digit, an expiry month 1–12 not in the past at <c>now</c>, a 3–4 digit
/// CVC. Pure: the caller passes the time. Errors name the field (<c>card.number</c>, …) for a 400.
/// </summary>
public static class Cards
{
    public static (CardSummary? Card, string? Field, string? Problem) Validate(string? number, int? expMonth, int? expYear, string? cvc, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(number)) return (null, "card.number", "is required");
        var digits = Digits(number);
        if (digits is null || digits.Length is < 12 or > 19) return (null, "card.number", "must be 12 to 19 digits");
        if (!LuhnValid(digits)) return (null, "card.number", "is not a valid card number (check digit)");
        if (expMonth is not (>= 1 and <= 12)) return (null, "card.exp_month", "must be 1 to 12");
        if (expYear is not { } year || year < 2000 || year > 2100) return (null, "card.exp_year", "must be a four-digit year");
        var utc = now.ToUniversalTime();
        if (year < utc.Year || (year == utc.Year && expMonth < utc.Month)) return (null, "card.exp_year", "the card has expired");
        if (cvc is null || cvc.Length is < 3 or > 4 || !cvc.All(char.IsAsciiDigit)) return (null, "card.cvc", "must be 3 or 4 digits");
        return (new CardSummary(BrandOf(digits), digits[^4..], expMonth.Value, year), null, null);
    }

    /// <summary>The number's digits with spaces removed, or null when anything else is in it.</summary>
    public static string? Digits(string number)
    {
        var digits = number.Replace(" ", "", StringComparison.Ordinal);
        return digits.Length > 0 && digits.All(char.IsAsciiDigit) ? digits : null;
    }

    /// <summary>The Luhn check: doubling every second digit from the right, the sum is a multiple of 10.</summary>
    public static bool LuhnValid(string digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i] - '0';
            if (i % 2 == 1)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
        }
        return sum % 10 == 0;
    }

    public static CardBrand BrandOf(string digits) => digits switch
    {
        ['4', ..] => CardBrand.Visa,
        ['3', '4' or '7', ..] => CardBrand.Amex,
        ['5', '1' or '2' or '3' or '4' or '5', ..] => CardBrand.Mastercard,
        ['2', '2' or '3' or '4' or '5' or '6' or '7', ..] => CardBrand.Mastercard,
        ['6', '0', '1', '1', ..] or ['6', '5', ..] => CardBrand.Discover,
        _ => CardBrand.Unknown,
    };
}
