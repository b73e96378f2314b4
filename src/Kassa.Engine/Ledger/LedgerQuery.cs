using Kassa.Core.Errors;
using Kassa.Core.Metering;
using Kassa.Core.Money;
using Kassa.Core.Validation;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary>
/// Parses the filter of the ledger reads (<c>customer_id</c>, <c>currency</c>, <c>from</c>, <c>to</c>)
/// the same way for the JSON list, the CSV export and the CLI, so the three can never disagree about
/// which entries a filter covers.
/// </summary>
public static class LedgerQuery
{
    public static Result<LedgerFilter> Parse(string? customerId, string? currency, string? from, string? to)
    {
        if (customerId is not null && Rules.Text(customerId, Rules.CustomerIdLengthMax) is { } c) return KassaError.Validation("customer_id", c);
        string? code = null;
        if (currency is not null)
        {
            if (!Currencies.TryGet(currency, out var known)) return KassaError.Validation("currency", "must be a supported ISO 4217 currency code such as usd");
            code = known.Code;
        }
        if (Time("from", from) is { IsOk: false } badFrom) return badFrom.Error!;
        if (Time("to", to) is { IsOk: false } badTo) return badTo.Error!;
        var (f, t) = (Time("from", from).Value, Time("to", to).Value);
        // An empty or reversed range is a mistake in the request, not a question whose answer is "nothing".
        if (f is { } a && t is { } b && b <= a) return KassaError.Validation("to", "must be after from (the range is from inclusive, to exclusive)");
        return new LedgerFilter(customerId, code, f, t);
    }

    /// <summary>A strict RFC 3339 time (an offset is required, so a time never silently means the server's zone).</summary>
    public static Result<DateTimeOffset?> Time(string param, string? value)
    {
        if (value is null) return (DateTimeOffset?)null;
        if (Rfc3339.TryParse(value, out var t)) return (DateTimeOffset?)t;
        return KassaError.Validation(param, UtcTimestampConverter.Rule);
    }
}
