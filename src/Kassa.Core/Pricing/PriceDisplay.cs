using System.Globalization;
using Kassa.Core.Money;

namespace Kassa.Core.Pricing;

/// <summary>
/// Short, culture-independent price labels for pricing tables, built on <see cref="MoneyFormat.Format"/>
/// (so whole amounts drop their zero fraction: <c>$20</c>, <c>$20.50</c>).
/// </summary>
/// <remarks>
/// Rules:
/// <list type="bullet">
/// <item>Recurring: <c>{amount} / {interval}</c> for one interval (<c>$20 / month</c>), otherwise
/// <c>{amount} / {count} {interval}s</c> (<c>$60 / 3 months</c>).</item>
/// <item>One-time: <c>{amount} once</c>.</item>
/// <item>Usage quantities are written <c>per {n} {unit}</c>, with the count left out when it is 1
/// (<c>per api_calls</c>, <c>per 1,000 api_calls</c>). The unit name is shown exactly as given;
/// there is no pluralisation, so pass the name that reads best.</item>
/// <item>per_unit: the smallest batch m of 1; 1,000; 1,000,000; 1,000,000,000 whose price
/// (unit amount × m) is at least one minor unit, that price rounded half away from zero to a whole
/// minor unit: 0.01 → <c>$0.10 per 1,000 api_calls</c>, 2 → <c>$0.02 per api_calls</c>. A price
/// below one minor unit even per billion units is shown per billion with its sub-minor digits
/// (<see cref="MoneyFormat.FormatDecimalMinor"/>) so it never reads as free; a zero price is
/// <c>$0 per api_calls</c>.</item>
/// <item>package: <c>{amount} per {package_size} {unit}</c>: <c>$5 per 1,000 api_calls</c>.</item>
/// <item>graduated and volume: <c>from</c> and the first tier's rate written as for per_unit, followed
/// by <c> + {flat}</c> when the first tier has a flat amount: <c>from $0.10 per 1,000 api_calls + $10</c>.
/// "from" names the entry tier, not a minimum; the full tier table belongs in a detail view.</item>
/// </list>
/// </remarks>
public static class PriceDisplay
{
    /// <summary>The most intervals one recurring period may span in a label.</summary>
    public const int IntervalCountMax = 1000;

    /// <summary>The longest unit name a usage label accepts.</summary>
    public const int UnitNameLengthMax = 64;

    private static readonly decimal[] Batches = [1m, 1_000m, 1_000_000m, 1_000_000_000m];

    /// <summary>
    /// A recurring price label such as <c>$20 / month</c> or <c>$60 / 3 months</c>.
    /// <paramref name="interval"/> is one of <c>day</c>, <c>week</c>, <c>month</c>, <c>year</c>;
    /// <paramref name="intervalCount"/> is 1 to <see cref="IntervalCountMax"/>.
    /// </summary>
    public static string Recurring(long amountMinor, Currency currency, string interval, int intervalCount)
    {
        ArgumentNullException.ThrowIfNull(interval);
        if (interval is not ("day" or "week" or "month" or "year"))
            throw new ArgumentException("must be day, week, month or year", nameof(interval));
        ArgumentOutOfRangeException.ThrowIfLessThan(intervalCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(intervalCount, IntervalCountMax);
        var amount = MoneyFormat.Format(amountMinor, currency);
        return intervalCount == 1
            ? $"{amount} / {interval}"
            : $"{amount} / {intervalCount.ToString(CultureInfo.InvariantCulture)} {interval}s";
    }

    /// <summary>A one-time price label such as <c>$50 once</c>.</summary>
    public static string OneTime(long amountMinor, Currency currency) =>
        MoneyFormat.Format(amountMinor, currency) + " once";

    /// <summary>
    /// A usage price label such as <c>$0.10 per 1,000 api_calls</c>; see the rules on
    /// <see cref="PriceDisplay"/>. Throws <see cref="ArgumentException"/> for an invalid price or a
    /// unit name that is blank or longer than <see cref="UnitNameLengthMax"/>.
    /// </summary>
    public static string Usage(UsagePrice price, Currency currency, string unitName)
    {
        ArgumentNullException.ThrowIfNull(price);
        ArgumentNullException.ThrowIfNull(currency);
        ArgumentException.ThrowIfNullOrWhiteSpace(unitName);
        if (unitName.Length > UnitNameLengthMax)
            throw new ArgumentException($"must be at most {UnitNameLengthMax} characters", nameof(unitName));
        PriceValidation.ThrowIfInvalid(price);
        switch (price.Model)
        {
            case PriceModel.PerUnit:
                return Rate(price.UnitAmountDecimal, currency, unitName);
            case PriceModel.Package:
                return $"{MoneyFormat.Format(price.PackageAmount, currency)} per {Quantity(price.PackageSize, unitName)}";
            case PriceModel.Graduated:
            case PriceModel.Volume:
                var first = price.Tiers[0];
                var label = "from " + Rate(first.UnitAmountDecimal, currency, unitName);
                return first.FlatAmount > 0 ? $"{label} + {MoneyFormat.Format(first.FlatAmount, currency)}" : label;
            default:
                throw new ArgumentOutOfRangeException(nameof(price));
        }
    }

    private static string Rate(decimal unitAmount, Currency currency, string unitName)
    {
        if (unitAmount == 0) return $"{MoneyFormat.Format(0, currency)} per {Quantity(1m, unitName)}";
        foreach (var batch in Batches)
        {
            var amount = unitAmount * batch;
            if (amount >= 1m)
            {
                // Validation caps the unit amount far below long.MaxValue, so this cannot overflow.
                var rounded = decimal.ToInt64(Math.Round(amount, 0, MidpointRounding.AwayFromZero));
                return $"{MoneyFormat.Format(rounded, currency)} per {Quantity(batch, unitName)}";
            }
        }
        var largest = Batches[^1];
        return $"{MoneyFormat.FormatDecimalMinor(unitAmount * largest, currency)} per {Quantity(largest, unitName)}";
    }

    private static string Quantity(decimal count, string unitName) =>
        count == 1m ? unitName : count.ToString("#,0", CultureInfo.InvariantCulture) + " " + unitName;
}
