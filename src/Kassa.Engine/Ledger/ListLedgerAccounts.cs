using Kassa.Core.Errors;
using Kassa.Core.Ledger;
using Kassa.Core.Money;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary>
/// <c>GET /v1/ledger/accounts?currency=</c>: the chart of accounts (spec §9), each with its debits,
/// credits and balance per currency over every entry posted so far. Without <c>currency</c> every
/// currency that has entries is shown; with it exactly that currency (zeros when nothing posted).
/// The chart has nine accounts and a tenant a bounded set of currencies, so the answer is one page.
/// </summary>
public static class ListLedgerAccounts
{
    /// <summary>The account types as the API names them.</summary>
    public static readonly IReadOnlyList<string> Types = ["asset", "liability", "revenue", "contra_revenue"];

    public static async Task<Result<IReadOnlyList<LedgerAccountResource>>> Execute(IStoreSession s, Tenant tenant, string? currency)
    {
        string? code = null;
        if (currency is not null)
        {
            if (!Currencies.TryGet(currency, out var c)) return KassaError.Validation("currency", "must be a supported ISO 4217 currency code such as usd");
            code = c.Code;
        }
        var totals = await s.Ledger.TotalsAsync(tenant, code, before: null);
        var currencies = code is not null ? [code] : totals.Select(t => t.Currency).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var byKey = totals.ToDictionary(t => (t.Currency, t.AccountCode));
        IReadOnlyList<LedgerAccountResource> accounts = [.. Chart.All.OrderBy(a => a.Code, StringComparer.Ordinal).Select(a => new LedgerAccountResource(
            a.Code, a.Name, TypeName(a.Type), a.DebitNormal ? "debit" : "credit",
            [.. currencies.Select(cur =>
            {
                var (debit, credit) = byKey.TryGetValue((cur, a.Code), out var t) ? (t.Debit, t.Credit) : (0L, 0L);
                return new LedgerAccountBalanceResource(cur, debit, credit, a.DebitNormal ? debit - credit : credit - debit);
            })]))];
        return Result<IReadOnlyList<LedgerAccountResource>>.Ok(accounts);
    }

    private static string TypeName(AccountType type) => type switch
    {
        AccountType.Asset => "asset",
        AccountType.Liability => "liability",
        AccountType.Revenue => "revenue",
        AccountType.ContraRevenue => "contra_revenue",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
