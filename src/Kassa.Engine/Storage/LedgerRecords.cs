using Kassa.Core.Paging;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// Which journal entries a ledger read covers: one customer, one currency and a half-open time range
/// <c>[From, To)</c> on the stored instant. Every part is optional.
/// </summary>
public sealed record LedgerFilter(string? CustomerId = null, string? Currency = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <summary>The sums of one account's lines in one currency.</summary>
public sealed record LedgerCurrencyTotals(string Currency, string AccountCode, long Debit, long Credit);

/// <summary>The ledger reads behind the §9 endpoints, the CSV export and the CLI.</summary>
public interface ILedgerReads
{
    /// <summary>Entries of the filter, newest first, with their lines (a page of at most <paramref name="limit"/>).</summary>
    Task<IReadOnlyList<LedgerEntryRecord>> ListAsync(Tenant tenant, LedgerFilter filter, Cursor? after, int limit);

    /// <summary>Entries of the filter, oldest first (the order of an export), strictly after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<LedgerEntryRecord>> ListOldestFirstAsync(Tenant tenant, LedgerFilter filter, Cursor? after, int limit);

    /// <summary>
    /// Debits and credits per currency and account code, summed by the database over the lines of the
    /// entries that occurred before <paramref name="before"/> (all of them when null), of one currency or all.
    /// </summary>
    Task<IReadOnlyList<LedgerCurrencyTotals>> TotalsAsync(Tenant tenant, string? currency, DateTimeOffset? before);
}

/// <summary>
/// Server-wide values shared by every node of one database (<c>kassa_meta</c>), such as the secret of
/// hosted links (never in an API response): the first node to start stores its candidate; every node
/// then uses the stored value.
/// </summary>
public interface IKassaMetaStore
{
    /// <summary>The stored value of <paramref name="name"/>, storing <paramref name="candidate"/> first when there is none.</summary>
    Task<string> GetOrAddAsync(string name, string candidate);
    /// <summary>The stored value of <paramref name="name"/>, or null.</summary>
    Task<string?> GetAsync(string name);
}
