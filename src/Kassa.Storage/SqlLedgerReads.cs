using System.Globalization;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

/// <summary>
/// The ledger reads of spec §9. Filters are written as "flag = 0 OR condition" with a non-null value
/// for every parameter, so PostgreSQL never has to guess the type of a null parameter and the text of
/// each statement stays the same whatever the filter (one prepared plan).
/// </summary>
internal sealed partial class SqlLedger
{
    private const string FilterSql = """
        account_id = @AccountId AND livemode = @Livemode
          AND (@hasCustomer = 0 OR customer_id = @customerId)
          AND (@hasCurrency = 0 OR currency = @currency)
          AND (@hasFrom = 0 OR occurred_at >= @fromMicros)
          AND (@hasTo = 0 OR occurred_at < @toMicros)
        """;

    public Task<IReadOnlyList<LedgerEntryRecord>> ListAsync(Tenant tenant, LedgerFilter filter, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM ledger_entries
            WHERE {FilterSql}
              AND (@hasCursor = 0 OR (occurred_at, id) < (@afterOccurred, @afterId))
            ORDER BY occurred_at DESC, id DESC LIMIT @limit
            """, Args(tenant, filter, after, limit), tenant);

    public Task<IReadOnlyList<LedgerEntryRecord>> ListOldestFirstAsync(Tenant tenant, LedgerFilter filter, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM ledger_entries
            WHERE {FilterSql}
              AND (@hasCursor = 0 OR (occurred_at, id) > (@afterOccurred, @afterId))
            ORDER BY occurred_at, id LIMIT @limit
            """, Args(tenant, filter, after, limit), tenant);

    public async Task<IReadOnlyList<LedgerCurrencyTotals>> TotalsAsync(Tenant tenant, string? currency, DateTimeOffset? before)
    {
        await s.FlushAsync();
        // Lines carry their currency but not their time; the entry's time decides "before", so the
        // lines are joined to their entries only when a cut-off is asked for.
        await using var r = await s.Connection.ExecuteReaderAsync("""
            SELECT l.currency, l.account_code, SUM(l.debit), SUM(l.credit) FROM ledger_lines l
            WHERE l.account_id = @AccountId AND l.livemode = @Livemode
              AND (@hasCurrency = 0 OR l.currency = @currency)
              AND (@hasBefore = 0 OR EXISTS (SELECT 1 FROM ledger_entries e
                     WHERE e.account_id = l.account_id AND e.livemode = l.livemode AND e.id = l.entry_id AND e.occurred_at < @beforeMicros))
            GROUP BY l.currency, l.account_code ORDER BY l.currency, l.account_code
            """, new
        {
            tenant.AccountId, tenant.Livemode, hasCurrency = currency is null ? 0 : 1, currency = currency ?? "",
            hasBefore = before is null ? 0 : 1, beforeMicros = before is { } b ? Micros.From(b) : 0L,
        }, s.Transaction);
        var list = new List<LedgerCurrencyTotals>();
        while (await r.ReadAsync())
        {
            list.Add(new LedgerCurrencyTotals(r.GetString(0), r.GetString(1),
                Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture)));
        }
        return list;
    }

    private static object Args(Tenant tenant, LedgerFilter f, Cursor? after, int limit) => new
    {
        tenant.AccountId, tenant.Livemode,
        hasCustomer = f.CustomerId is null ? 0 : 1, customerId = f.CustomerId ?? "",
        hasCurrency = f.Currency is null ? 0 : 1, currency = f.Currency ?? "",
        hasFrom = f.From is null ? 0 : 1, fromMicros = f.From is { } from ? Micros.From(from) : 0L,
        hasTo = f.To is null ? 0 : 1, toMicros = f.To is { } to ? Micros.From(to) : 0L,
        hasCursor = after is null ? 0 : 1, afterOccurred = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "",
        limit,
    };
}

/// <summary>Server-wide values in <c>kassa_meta</c>: insert-if-absent, then read what won.</summary>
internal sealed class SqlKassaMeta(SqlSession s) : IKassaMetaStore
{
    public Task<string?> GetAsync(string name) =>
        s.Connection.ExecuteScalarAsync<string?>("SELECT value FROM kassa_meta WHERE key = @name", new { name }, s.Transaction);

    public async Task<string> GetOrAddAsync(string name, string candidate)
    {
        await s.Connection.ExecuteAsync("INSERT INTO kassa_meta (key, value) VALUES (@name, @candidate) ON CONFLICT (key) DO NOTHING",
            new { name, candidate }, s.Transaction);
        return await s.Connection.ExecuteScalarAsync<string>("SELECT value FROM kassa_meta WHERE key = @name", new { name }, s.Transaction)
            ?? throw new InvalidOperationException($"kassa_meta row {name} vanished");
    }
}
