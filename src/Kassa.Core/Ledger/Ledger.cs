using Kassa.Core.Invoicing;

namespace Kassa.Core.Ledger;

/// <summary>The kind of a ledger account, which decides its normal side.</summary>
public enum AccountType
{
    Asset,
    Liability,
    Revenue,
    ContraRevenue,
}

/// <summary>One account of the chart (spec §9). Codes are the contract; names are for people.</summary>
public sealed record LedgerAccount(string Code, string Name, AccountType Type)
{
    /// <summary>Assets and contra-revenue grow with debits; liabilities and revenue with credits.</summary>
    public bool DebitNormal => Type is AccountType.Asset or AccountType.ContraRevenue;
}

/// <summary>The chart of accounts every account, mode and currency has (spec §9).</summary>
public static class Chart
{
    public static readonly LedgerAccount Cash = new("1000", "cash (provider clearing)", AccountType.Asset);
    public static readonly LedgerAccount Receivable = new("1200", "accounts receivable", AccountType.Asset);
    /// <summary>Money the provider took back while a dispute runs: still Kassa's claim until the dispute is won or lost.</summary>
    public static readonly LedgerAccount DisputedFunds = new("1300", "disputed funds", AccountType.Asset);
    public static readonly LedgerAccount CustomerCredit = new("2000", "customer credit balance", AccountType.Liability);
    public static readonly LedgerAccount Deferred = new("2100", "deferred revenue", AccountType.Liability);
    public static readonly LedgerAccount TaxPayable = new("2200", "tax payable", AccountType.Liability);
    public static readonly LedgerAccount SubscriptionRevenue = new("4000", "subscription revenue", AccountType.Revenue);
    public static readonly LedgerAccount UsageRevenue = new("4001", "usage revenue", AccountType.Revenue);
    public static readonly LedgerAccount Discounts = new("4900", "discounts", AccountType.ContraRevenue);
    public static readonly LedgerAccount Refunds = new("4950", "refunds and credit notes", AccountType.ContraRevenue);
    public static readonly LedgerAccount DisputesLost = new("4960", "disputes lost", AccountType.ContraRevenue);

    public static IReadOnlyList<LedgerAccount> All { get; } =
        [Cash, Receivable, DisputedFunds, CustomerCredit, Deferred, TaxPayable, SubscriptionRevenue, UsageRevenue, Discounts, Refunds, DisputesLost];

    /// <summary>
    /// Where a line's revenue goes when the caller says nothing else: usage (also late usage) to usage
    /// revenue, everything else to subscription revenue. Prepaid credits sold as a one-time line go to
    /// deferred revenue, which the caller says by passing <see cref="Deferred"/>.
    /// </summary>
    public static LedgerAccount RevenueFor(LineType type) =>
        type is LineType.Usage or LineType.PriorPeriod ? UsageRevenue : SubscriptionRevenue;
}

/// <summary>One side of one account in an entry: exactly one of debit and credit is positive.</summary>
public sealed record JournalLine(LedgerAccount Account, long Debit, long Credit);

/// <summary>What posted an entry; (type, id, action) is unique, so nothing posts twice.</summary>
public sealed record EntrySource(string Type, string Id, string Action);

/// <summary>
/// A balanced journal entry (spec §9). Built only through <see cref="Create"/>, which refuses an entry
/// whose debits and credits differ: money is never created or lost between accounts.
/// </summary>
public sealed record JournalEntry
{
    private JournalEntry(EntrySource source, string currency, IReadOnlyList<JournalLine> lines)
    {
        Source = source;
        Currency = currency;
        Lines = lines;
    }

    public EntrySource Source { get; }
    public string Currency { get; }
    public IReadOnlyList<JournalLine> Lines { get; }
    public long Debits => Lines.Sum(l => l.Debit);
    public long Credits => Lines.Sum(l => l.Credit);

    /// <summary>
    /// Builds an entry from signed amounts per account (positive = debit, negative = credit), merging
    /// amounts of one account and dropping zeros. Throws <see cref="InvalidOperationException"/> when the
    /// amounts do not sum to zero — an unbalanced entry is a bug, never something to write.
    /// </summary>
    public static JournalEntry Create(EntrySource source, string currency, IEnumerable<(LedgerAccount Account, long Signed)> amounts)
    {
        ArgumentNullException.ThrowIfNull(source);
        var merged = new List<(LedgerAccount Account, long Signed)>();
        foreach (var (account, signed) in amounts)
        {
            var at = merged.FindIndex(m => m.Account.Code == account.Code);
            if (at < 0) merged.Add((account, signed));
            else merged[at] = (account, checked(merged[at].Signed + signed));
        }
        long sum = 0;
        foreach (var (_, signed) in merged) sum = checked(sum + signed);
        if (sum != 0) throw new InvalidOperationException($"Unbalanced journal entry for {source.Type} {source.Id} {source.Action}: debits − credits = {sum}");
        var lines = merged.Where(m => m.Signed != 0)
            .Select(m => new JournalLine(m.Account, Math.Max(0, m.Signed), Math.Max(0, -m.Signed)))
            .OrderBy(l => l.Account.Code, StringComparer.Ordinal)
            .ToList();
        return new JournalEntry(source, currency, lines);
    }

    /// <summary>The entry that undoes this one (a void, a correction): every debit becomes a credit and back.</summary>
    public JournalEntry Reverse(EntrySource source) =>
        Create(source, Currency, Lines.Select(l => (l.Account, l.Credit - l.Debit)));
}
