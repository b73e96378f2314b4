using Kassa.Core.Errors;
using Kassa.Core.Ledger;
using Kassa.Core.Money;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary>
/// <c>GET /v1/ledger/trial_balance?currency=&amp;as_of=</c>: every account of the chart with its debits,
/// credits and balance in one currency, summed by the database over the lines of the entries that
/// occurred before <c>as_of</c> (default: now). Debits equal credits because every entry balances.
/// </summary>
public static class GetTrialBalance
{
    public static async Task<Result<TrialBalanceResource>> Execute(IStoreSession s, Tenant tenant, string? currency, string? asOf, DateTimeOffset now)
    {
        if (currency is null) return KassaError.Missing("currency");
        if (!Currencies.TryGet(currency, out var c)) return KassaError.Validation("currency", "must be a supported ISO 4217 currency code such as usd");
        var parsed = LedgerQuery.Time("as_of", asOf);
        if (!parsed.IsOk) return parsed.Error!;
        // "As of" an instant means strictly before it, like the exclusive end of every other range here.
        var cutOff = parsed.Value ?? now;
        var totals = (await s.Ledger.TotalsAsync(tenant, c.Code, cutOff)).ToDictionary(t => t.AccountCode, StringComparer.Ordinal);
        var accounts = Chart.All.OrderBy(a => a.Code, StringComparer.Ordinal).Select(a =>
        {
            var (debit, credit) = totals.TryGetValue(a.Code, out var t) ? (t.Debit, t.Credit) : (0L, 0L);
            return new TrialBalanceAccountResource(a.Code, a.Name, debit, credit, a.DebitNormal ? debit - credit : credit - debit);
        }).ToList();
        return new TrialBalanceResource(cutOff, c.Code, accounts, accounts.Sum(a => a.Debit), accounts.Sum(a => a.Credit));
    }
}
