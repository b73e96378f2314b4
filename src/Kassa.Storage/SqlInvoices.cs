using System.Globalization;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlInvoices(SqlSession s) : IInvoiceStore
{
    private const string Columns = "account_id, livemode, id, customer_id, subscription_id, number, status, currency, description, period_start, period_end, " +
        "subtotal, discount, tax, total, amount_paid, amount_due, created_at, finalized_at, voided_at, " +
        "paid_at, due_at, credit_applied, billing_reason, coupon_id, tax_rate_id, attempt_count, next_attempt_at";
    private const string LineColumns = "account_id, livemode, invoice_id, id, type, description, quantity_micros, unit_amount_decimal, amount, created_at, " +
        "period_start, period_end, product_id, feature_id, discount, tax";

    public Task InsertAsync(InvoiceRecord i) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO invoices ({Columns}) VALUES (@AccountId, @Livemode, @Id, @CustomerId, @SubscriptionId, @Number, @Status, @Currency, @Description,
              @periodStart, @periodEnd, @Subtotal, @Discount, @Tax, @Total, @AmountPaid, @AmountDue, @created, @finalized, @voided,
              @paid, @due, @CreditApplied, @BillingReason, @CouponId, @TaxRateId, @AttemptCount, @nextAttempt)
            """, Args(i), s.Transaction);

    public async Task<InvoiceRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Query($"SELECT {Columns} FROM invoices WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public Task UpdateAsync(InvoiceRecord i) =>
        s.Connection.ExecuteAsync("""
            UPDATE invoices SET number = @Number, status = @Status, description = @Description, subtotal = @Subtotal, discount = @Discount, tax = @Tax,
              total = @Total, amount_paid = @AmountPaid, amount_due = @AmountDue, finalized_at = @finalized, voided_at = @voided,
              paid_at = @paid, due_at = @due, credit_applied = @CreditApplied, coupon_id = @CouponId, tax_rate_id = @TaxRateId,
              attempt_count = @AttemptCount, next_attempt_at = @nextAttempt, period_start = @periodStart, period_end = @periodEnd
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, Args(i), s.Transaction);

    public Task<IReadOnlyList<InvoiceRecord>> ListAsync(Tenant tenant, InvoiceFilter f, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM invoices
            WHERE account_id = @AccountId AND livemode = @Livemode
              AND (@customerId IS NULL OR customer_id = @customerId)
              AND (@status IS NULL OR status = @status)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId = f.CustomerId, status = f.Status, hasCursor = after is null ? 0 : 1,
                afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public Task InsertLineAsync(InvoiceLineRecord l) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO invoice_lines ({LineColumns}) VALUES (@AccountId, @Livemode, @InvoiceId, @Id, @Type, @Description, @QuantityMicros, @unit, @Amount, @created,
              @periodStart, @periodEnd, @ProductId, @FeatureId, @Discount, @Tax)
            """, LineArgs(l), s.Transaction);

    public Task UpdateLineAsync(InvoiceLineRecord l) =>
        s.Connection.ExecuteAsync("""
            UPDATE invoice_lines SET description = @Description, quantity_micros = @QuantityMicros, unit_amount_decimal = @unit, amount = @Amount,
              period_start = @periodStart, period_end = @periodEnd, discount = @Discount, tax = @Tax
            WHERE account_id = @AccountId AND livemode = @Livemode AND invoice_id = @InvoiceId AND id = @Id
            """, LineArgs(l), s.Transaction);

    private static object LineArgs(InvoiceLineRecord l) => new
    {
        l.AccountId, l.Livemode, l.InvoiceId, l.Id, l.Type, l.Description, l.QuantityMicros,
        unit = l.UnitAmountDecimal?.ToString(CultureInfo.InvariantCulture), l.Amount, created = Micros.From(l.CreatedAt),
        periodStart = Opt(l.PeriodStart), periodEnd = Opt(l.PeriodEnd), l.ProductId, l.FeatureId, l.Discount, l.Tax,
    };

    public async Task<bool> DeleteLineAsync(Tenant tenant, string invoiceId, string lineId) =>
        await s.Connection.ExecuteAsync(
            "DELETE FROM invoice_lines WHERE account_id = @AccountId AND livemode = @Livemode AND invoice_id = @invoiceId AND id = @lineId",
            new { tenant.AccountId, tenant.Livemode, invoiceId, lineId }, s.Transaction) > 0;

    public async Task<IReadOnlyList<InvoiceLineRecord>> LinesAsync(Tenant tenant, IReadOnlyCollection<string> invoiceIds)
    {
        if (invoiceIds.Count == 0) return [];
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT {LineColumns} FROM invoice_lines
            WHERE account_id = @AccountId AND livemode = @Livemode AND {s.In("invoice_id", "ids", invoiceIds)}
            ORDER BY invoice_id, created_at, id
            """, new { tenant.AccountId, tenant.Livemode, ids = s.List(invoiceIds) }, s.Transaction);
        var list = new List<InvoiceLineRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new InvoiceLineRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt64(6),
                r.IsDBNull(7) ? null : decimal.Parse(r.GetString(7), NumberStyles.Number, CultureInfo.InvariantCulture), r.GetInt64(8), Micros.To(r.GetInt64(9)),
                OptTime(r, 10), OptTime(r, 11), r.IsDBNull(12) ? null : r.GetString(12), r.IsDBNull(13) ? null : r.GetString(13), r.GetInt64(14), r.GetInt64(15)));
        }
        return list;
    }

    public async Task<long> NextNumberAsync(Tenant tenant)
    {
        // One statement: the row is created on first use, incremented after. On PostgreSQL the upsert
        // locks the row to the end of the transaction, and a concurrent one waits for that commit and
        // then increments the committed value, so numbers stay gap-free across nodes.
        return await s.Connection.ExecuteScalarAsync<long>("""
            INSERT INTO invoice_counters (account_id, livemode, last_number) VALUES (@AccountId, @Livemode, 1)
            ON CONFLICT (account_id, livemode) DO UPDATE SET last_number = invoice_counters.last_number + 1
            RETURNING last_number
            """, new { tenant.AccountId, tenant.Livemode }, s.Transaction);
    }

    public async Task<IReadOnlyList<(Tenant Tenant, string Id)>> DueForPaymentRetryAsync(DateTimeOffset now, int limit)
    {
        // The partial index invoices_retry holds exactly the invoices with a retry scheduled; a test clock's
        // invoices are retried when the clock is advanced, in its time.
        await using var r = await s.Connection.ExecuteReaderAsync("""
            SELECT account_id, livemode, id FROM invoices
            WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= @now AND status = 'open'
              AND NOT EXISTS (SELECT 1 FROM subscriptions c WHERE c.account_id = invoices.account_id AND c.livemode = invoices.livemode
                              AND c.id = invoices.subscription_id AND c.test_clock_id IS NOT NULL)
            ORDER BY next_attempt_at LIMIT @limit
            """, new { now = Micros.From(now), limit }, s.Transaction);
        var list = new List<(Tenant, string)>();
        while (await r.ReadAsync()) list.Add((new Tenant(r.GetString(0), r.GetBoolean(1)), r.GetString(2)));
        return list;
    }

    private static object Args(InvoiceRecord i) => new
    {
        i.AccountId, i.Livemode, i.Id, i.CustomerId, i.SubscriptionId, i.Number, i.Status, i.Currency, i.Description,
        periodStart = Opt(i.PeriodStart), periodEnd = Opt(i.PeriodEnd), i.Subtotal, i.Discount, i.Tax, i.Total, i.AmountPaid, i.AmountDue,
        created = Micros.From(i.CreatedAt), finalized = Opt(i.FinalizedAt), voided = Opt(i.VoidedAt),
        paid = Opt(i.PaidAt), due = Opt(i.DueAt), i.CreditApplied, i.BillingReason, i.CouponId, i.TaxRateId, i.AttemptCount, nextAttempt = Opt(i.NextAttemptAt),
    };

    private static long? Opt(DateTimeOffset? t) => t is { } v ? Micros.From(v) : null;

    private static DateTimeOffset? OptTime(System.Data.Common.DbDataReader r, int i) => r.IsDBNull(i) ? null : Micros.To(r.GetInt64(i));

    private async Task<IReadOnlyList<InvoiceRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<InvoiceRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new InvoiceRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
                r.IsDBNull(5) ? null : r.GetString(5), r.GetString(6), r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8),
                r.IsDBNull(9) ? null : Micros.To(r.GetInt64(9)), r.IsDBNull(10) ? null : Micros.To(r.GetInt64(10)),
                r.GetInt64(11), r.GetInt64(12), r.GetInt64(13), r.GetInt64(14), r.GetInt64(15), r.GetInt64(16),
                Micros.To(r.GetInt64(17)), OptTime(r, 18), OptTime(r, 19),
                OptTime(r, 20), OptTime(r, 21), r.GetInt64(22), r.GetString(23), r.IsDBNull(24) ? null : r.GetString(24), r.IsDBNull(25) ? null : r.GetString(25),
                r.GetInt32(26), OptTime(r, 27)));
        }
        return list;
    }
}

internal sealed partial class SqlLedger(SqlSession s) : ILedgerStore
{
    private const string Columns = "account_id, livemode, id, currency, description, source_type, source_id, action, customer_id, occurred_at";

    public async Task<bool> TryInsertAsync(LedgerEntryRecord e)
    {
        var inserted = await s.Connection.ExecuteAsync($"""
            INSERT INTO ledger_entries ({Columns}) VALUES (@AccountId, @Livemode, @Id, @Currency, @Description, @SourceType, @SourceId, @Action, @CustomerId, @occurred)
            ON CONFLICT (account_id, livemode, source_type, source_id, action) DO NOTHING
            """, new { e.AccountId, e.Livemode, e.Id, e.Currency, e.Description, e.SourceType, e.SourceId, e.Action, e.CustomerId, occurred = Micros.From(e.OccurredAt) },
            s.Transaction);
        if (inserted == 0) return false;
        // The lines go with the transaction's other append-only rows just before it commits (PendingRows).
        await s.Pending.AddLinesAsync(s, e);
        return true;
    }

    public async Task<LedgerEntryRecord?> FindBySourceAsync(Tenant tenant, string sourceType, string sourceId, string action) =>
        (await Query($"""
            SELECT {Columns} FROM ledger_entries
            WHERE account_id = @AccountId AND livemode = @Livemode AND source_type = @sourceType AND source_id = @sourceId AND action = @action
            """, new { tenant.AccountId, tenant.Livemode, sourceType, sourceId, action }, tenant)).FirstOrDefault();

    public Task<IReadOnlyList<LedgerEntryRecord>> ListAsync(Tenant tenant, string? customerId, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM ledger_entries
            WHERE account_id = @AccountId AND livemode = @Livemode
              AND (@customerId IS NULL OR customer_id = @customerId)
              AND (@hasCursor = 0 OR (occurred_at, id) < (@afterOccurred, @afterId))
            ORDER BY occurred_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId, hasCursor = after is null ? 0 : 1, afterOccurred = after?.CreatedMicros ?? 0,
                afterId = after?.Id ?? "", limit }, tenant);

    public async Task<IReadOnlyList<LedgerAccountTotals>> TotalsAsync(Tenant tenant, string currency)
    {
        await s.FlushAsync();
        await using var r = await s.Connection.ExecuteReaderAsync("""
            SELECT account_code, SUM(debit), SUM(credit) FROM ledger_lines
            WHERE account_id = @AccountId AND livemode = @Livemode AND currency = @currency
            GROUP BY account_code ORDER BY account_code
            """, new { tenant.AccountId, tenant.Livemode, currency }, s.Transaction);
        var list = new List<LedgerAccountTotals>();
        while (await r.ReadAsync())
            list.Add(new LedgerAccountTotals(r.GetString(0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture)));
        return list;
    }

    private async Task<IReadOnlyList<LedgerEntryRecord>> Query(string sql, object args, Tenant tenant)
    {
        await s.FlushAsync();
        var heads = new List<(string AccountId, bool Livemode, string Id, string Currency, string Description, string Type, string SourceId, string Action, string? CustomerId, long Occurred)>();
        await using (var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction))
        {
            while (await r.ReadAsync())
            {
                heads.Add((r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7),
                    r.IsDBNull(8) ? null : r.GetString(8), r.GetInt64(9)));
            }
        }
        if (heads.Count == 0) return [];
        var lines = new Dictionary<string, List<LedgerLineRecord>>(StringComparer.Ordinal);
        var entryIds = heads.Select(h => h.Id).ToList();
        await using (var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT entry_id, account_code, debit, credit FROM ledger_lines
            WHERE account_id = @AccountId AND livemode = @Livemode AND {s.In("entry_id", "ids", entryIds)}
            ORDER BY entry_id, account_code
            """, new { tenant.AccountId, tenant.Livemode, ids = s.List(entryIds) }, s.Transaction))
        {
            while (await r.ReadAsync())
            {
                var id = r.GetString(0);
                if (!lines.TryGetValue(id, out var list)) lines[id] = list = [];
                list.Add(new LedgerLineRecord(r.GetString(1), r.GetInt64(2), r.GetInt64(3)));
            }
        }
        return [.. heads.Select(h => new LedgerEntryRecord(h.AccountId, h.Livemode, h.Id, h.Currency, h.Description, h.Type, h.SourceId, h.Action, h.CustomerId,
            Micros.To(h.Occurred), lines.TryGetValue(h.Id, out var l) ? l : []))];
    }
}
