using Kassa.Core.Ids;
using Kassa.Core.Ledger;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary>
/// Writes a journal entry built by <see cref="Postings"/> inside the caller's transaction, so the
/// movement and its entry commit together. The source key is unique: a second post of the same
/// movement is refused, which callers treat as a bug (their own state check should have stopped it).
/// </summary>
public static class PostJournalEntry
{
    public static async Task<LedgerEntryRecord> Execute(IStoreSession s, OperationContext op, JournalEntry entry, string description, string? customerId)
    {
        // JournalEntry.Create already refused an unbalanced entry; this states the invariant where money is written.
        if (entry.Debits != entry.Credits) throw new InvalidOperationException($"Unbalanced journal entry for {entry.Source.Type} {entry.Source.Id}");
        var record = new LedgerEntryRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.JournalEntry), entry.Currency, description,
            entry.Source.Type, entry.Source.Id, entry.Source.Action, customerId, op.Now,
            [.. entry.Lines.Select(l => new LedgerLineRecord(l.Account.Code, l.Debit, l.Credit))]);
        if (!await s.Ledger.TryInsertAsync(record))
            throw new InvalidOperationException($"{entry.Source.Type} {entry.Source.Id} already posted '{entry.Source.Action}'");
        return record;
    }

    /// <summary>A stored entry as the pure <see cref="JournalEntry"/> it was written from (e.g. to reverse it exactly).</summary>
    public static JournalEntry ToJournalEntry(LedgerEntryRecord r) =>
        JournalEntry.Create(new EntrySource(r.SourceType, r.SourceId, r.Action), r.Currency,
            r.Lines.Select(l => (Chart.All.Single(a => a.Code == l.AccountCode), l.Debit - l.Credit)));
}
