using System.Text;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary>
/// Writes the ledger of a tenant as CSV (<see cref="LedgerCsv"/>), oldest entry first, reading
/// <see cref="PageSize"/> entries per short read transaction and flushing each page to the writer: a
/// ledger of any size never sits in memory, and no read transaction stays open for the whole export.
/// Used by <c>GET /v1/ledger/entries.csv</c> and by <c>kassa ledger export</c>, so both write the same bytes.
/// </summary>
public static class ExportLedgerCsv
{
    /// <summary>Entries per read (each has a handful of lines), small enough to keep every read short.</summary>
    public const int PageSize = 500;

    /// <summary>
    /// Exports the entries of <paramref name="filter"/>. Without a <c>To</c>, the export stops at
    /// <paramref name="now"/>, so entries posted while it runs do not make it a moving target.
    /// Returns the number of rows (journal lines) written; <paramref name="progress"/> hears the count after each page.
    /// </summary>
    public static async Task<long> Execute(IKassaStore store, Tenant tenant, LedgerFilter filter, DateTimeOffset now, TextWriter output,
        Action<long>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        var bounded = filter.To is null ? filter with { To = now } : filter;
        await output.WriteAsync(LedgerCsv.Header.AsMemory(), ct);
        long rows = 0;
        Cursor? after = null;
        var sb = new StringBuilder();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var cursor = after;
            var page = await store.ReadAsync(s => s.Ledger.ListOldestFirstAsync(tenant, bounded, cursor, PageSize), ct);
            if (page.Count == 0) break;
            sb.Clear();
            foreach (var entry in page)
            {
                LedgerCsv.AppendRows(sb, entry);
                rows += entry.Lines.Count;
            }
            await output.WriteAsync(sb, ct);
            await output.FlushAsync(ct);
            progress?.Invoke(rows);
            if (page.Count < PageSize) break;
            after = new Cursor(Micros.From(page[^1].OccurredAt), page[^1].Id);
        }
        return rows;
    }
}
