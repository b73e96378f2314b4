using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

/// <summary>Small readers shared by the billing areas.</summary>
internal static class BillingColumns
{
    public static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
    public static int? Int(DbDataReader r, int i) => r.IsDBNull(i) ? null : Convert.ToInt32(r.GetValue(i), CultureInfo.InvariantCulture);
    public static DateTimeOffset? Time(DbDataReader r, int i) => r.IsDBNull(i) ? null : Micros.To(r.GetInt64(i));
    public static long? Opt(DateTimeOffset? t) => t is { } v ? Micros.From(v) : null;
    public static string Exact(decimal d) => d.ToString(CultureInfo.InvariantCulture);
    public static decimal Exact(string s) => decimal.Parse(s, NumberStyles.Number, CultureInfo.InvariantCulture);
}

internal sealed class SqlCoupons(SqlSession s) : ICouponStore
{
    private const string Columns = "account_id, livemode, id, code, type, value, currency, duration, duration_in_cycles, max_redemptions, times_redeemed, " +
        "expires_at, product_ids, archived_at, created_at";
    private const string RedemptionColumns = "account_id, livemode, id, coupon_id, customer_id, subscription_id, invoice_id, cycles_applied, created_at";

    public async Task<bool> TryInsertAsync(CouponRecord c) =>
        await s.Connection.ExecuteAsync($"""
            INSERT INTO coupons ({Columns}) VALUES (@AccountId, @Livemode, @Id, @Code, @Type, @value, @Currency, @Duration, @DurationInCycles, @MaxRedemptions,
              @TimesRedeemed, @expires, @products, @archived, @created)
            ON CONFLICT (account_id, livemode, code) DO NOTHING
            """, Args(c), s.Transaction) > 0;

    public async Task<CouponRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Query($"SELECT {Columns} FROM coupons WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public async Task<CouponRecord?> FindByCodeAsync(Tenant tenant, string code, bool forUpdate = false) =>
        (await Query($"SELECT {Columns} FROM coupons WHERE account_id = @AccountId AND livemode = @Livemode AND code = @code{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, code })).FirstOrDefault();

    public Task<IReadOnlyList<CouponRecord>> ListAsync(Tenant tenant, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM coupons
            WHERE account_id = @AccountId AND livemode = @Livemode AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public Task UpdateAsync(CouponRecord c) =>
        s.Connection.ExecuteAsync("""
            UPDATE coupons SET times_redeemed = @TimesRedeemed, archived_at = @archived
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, Args(c), s.Transaction);

    public Task InsertRedemptionAsync(CouponRedemptionRecord r) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO coupon_redemptions ({RedemptionColumns}) VALUES (@AccountId, @Livemode, @Id, @CouponId, @CustomerId, @SubscriptionId, @InvoiceId, @CyclesApplied, @created)
            """, new { r.AccountId, r.Livemode, r.Id, r.CouponId, r.CustomerId, r.SubscriptionId, r.InvoiceId, r.CyclesApplied, created = Micros.From(r.CreatedAt) },
            s.Transaction);

    public async Task<CouponRedemptionRecord?> RedemptionForSubscriptionAsync(Tenant tenant, string subscriptionId, bool forUpdate = false)
    {
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT {RedemptionColumns} FROM coupon_redemptions
            WHERE account_id = @AccountId AND livemode = @Livemode AND subscription_id = @subscriptionId{(forUpdate ? s.Dialect.ForUpdate : "")}
            """, new { tenant.AccountId, tenant.Livemode, subscriptionId }, s.Transaction);
        if (!await r.ReadAsync()) return null;
        return new CouponRedemptionRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), BillingColumns.Text(r, 5),
            BillingColumns.Text(r, 6), Convert.ToInt32(r.GetValue(7), CultureInfo.InvariantCulture), Micros.To(r.GetInt64(8)));
    }

    public Task UpdateRedemptionAsync(CouponRedemptionRecord r) =>
        s.Connection.ExecuteAsync("UPDATE coupon_redemptions SET cycles_applied = @CyclesApplied WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id",
            new { r.AccountId, r.Livemode, r.Id, r.CyclesApplied }, s.Transaction);

    private static object Args(CouponRecord c) => new
    {
        c.AccountId, c.Livemode, c.Id, c.Code, c.Type, value = BillingColumns.Exact(c.Value), c.Currency, c.Duration, c.DurationInCycles, c.MaxRedemptions,
        c.TimesRedeemed, expires = BillingColumns.Opt(c.ExpiresAt),
        products = c.ProductIds is null ? null : JsonSerializer.Serialize(c.ProductIds, KassaJson.Options),
        archived = BillingColumns.Opt(c.ArchivedAt), created = Micros.From(c.CreatedAt),
    };

    private async Task<IReadOnlyList<CouponRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<CouponRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new CouponRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), BillingColumns.Exact(r.GetString(5)),
                BillingColumns.Text(r, 6), r.GetString(7), BillingColumns.Int(r, 8), BillingColumns.Int(r, 9), Convert.ToInt32(r.GetValue(10), CultureInfo.InvariantCulture),
                BillingColumns.Time(r, 11), r.IsDBNull(12) ? null : JsonSerializer.Deserialize<List<string>>(r.GetString(12), KassaJson.Options),
                BillingColumns.Time(r, 13), Micros.To(r.GetInt64(14))));
        }
        return list;
    }
}

internal sealed class SqlTaxRates(SqlSession s) : ITaxRateStore
{
    private const string Columns = "account_id, livemode, id, name, country, state, percentage, inclusive, archived_at, created_at";

    public Task InsertAsync(TaxRateRecord t) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO tax_rates ({Columns}) VALUES (@AccountId, @Livemode, @Id, @Name, @Country, @State, @percentage, @Inclusive, @archived, @created)
            """, Args(t), s.Transaction);

    public async Task<TaxRateRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Query($"SELECT {Columns} FROM tax_rates WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public Task<IReadOnlyList<TaxRateRecord>> ListAsync(Tenant tenant, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM tax_rates
            WHERE account_id = @AccountId AND livemode = @Livemode AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public Task<IReadOnlyList<TaxRateRecord>> LiveForCountryAsync(Tenant tenant, string country, int limit) =>
        Query($"""
            SELECT {Columns} FROM tax_rates
            WHERE account_id = @AccountId AND livemode = @Livemode AND country = @country AND archived_at IS NULL
            ORDER BY created_at, id LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, country, limit });

    public Task UpdateAsync(TaxRateRecord t) =>
        s.Connection.ExecuteAsync("UPDATE tax_rates SET archived_at = @archived WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id",
            Args(t), s.Transaction);

    private static object Args(TaxRateRecord t) => new
    {
        t.AccountId, t.Livemode, t.Id, t.Name, t.Country, t.State, percentage = BillingColumns.Exact(t.Percentage), t.Inclusive,
        archived = BillingColumns.Opt(t.ArchivedAt), created = Micros.From(t.CreatedAt),
    };

    private async Task<IReadOnlyList<TaxRateRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<TaxRateRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new TaxRateRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), BillingColumns.Text(r, 5),
                BillingColumns.Exact(r.GetString(6)), r.GetBoolean(7), BillingColumns.Time(r, 8), Micros.To(r.GetInt64(9))));
        }
        return list;
    }
}

internal sealed class SqlCustomerCredit(SqlSession s) : ICustomerCreditStore
{
    private const string Columns = "account_id, livemode, customer_id, currency, balance, updated_at";
    private const string TransactionColumns = "account_id, livemode, id, customer_id, currency, type, amount, balance_after, description, invoice_id, credit_note_id, created_at";

    public async Task<CustomerCreditBalanceRecord?> GetAsync(Tenant tenant, string customerId, string currency, bool forUpdate = false) =>
        (await Query($"""
            SELECT {Columns} FROM customer_credit_balances
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND currency = @currency{(forUpdate ? s.Dialect.ForUpdate : "")}
            """, new { tenant.AccountId, tenant.Livemode, customerId, currency })).FirstOrDefault();

    public Task<IReadOnlyList<CustomerCreditBalanceRecord>> ForCustomerAsync(Tenant tenant, string customerId) =>
        Query($"""
            SELECT {Columns} FROM customer_credit_balances
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId ORDER BY currency
            """, new { tenant.AccountId, tenant.Livemode, customerId });

    public Task EnsureAsync(Tenant tenant, string customerId, string currency, DateTimeOffset now) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO customer_credit_balances ({Columns}) VALUES (@AccountId, @Livemode, @customerId, @currency, 0, @updated)
            ON CONFLICT (account_id, livemode, customer_id, currency) DO NOTHING
            """, new { tenant.AccountId, tenant.Livemode, customerId, currency, updated = Micros.From(now) }, s.Transaction);

    public Task UpsertAsync(CustomerCreditBalanceRecord b) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO customer_credit_balances ({Columns}) VALUES (@AccountId, @Livemode, @CustomerId, @Currency, @Balance, @updated)
            ON CONFLICT (account_id, livemode, customer_id, currency) DO UPDATE SET balance = excluded.balance, updated_at = excluded.updated_at
            """, new { b.AccountId, b.Livemode, b.CustomerId, b.Currency, b.Balance, updated = Micros.From(b.UpdatedAt) }, s.Transaction);

    public Task InsertTransactionAsync(CustomerCreditTransactionRecord t) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO customer_credit_transactions ({TransactionColumns})
            VALUES (@AccountId, @Livemode, @Id, @CustomerId, @Currency, @Type, @Amount, @BalanceAfter, @Description, @InvoiceId, @CreditNoteId, @created)
            """, new { t.AccountId, t.Livemode, t.Id, t.CustomerId, t.Currency, t.Type, t.Amount, t.BalanceAfter, t.Description, t.InvoiceId, t.CreditNoteId,
                created = Micros.From(t.CreatedAt) }, s.Transaction);

    public async Task<IReadOnlyList<CustomerCreditTransactionRecord>> TransactionsAsync(Tenant tenant, string customerId, int limit)
    {
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT {TransactionColumns} FROM customer_credit_transactions
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId, limit }, s.Transaction);
        var list = new List<CustomerCreditTransactionRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new CustomerCreditTransactionRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
                r.GetInt64(6), r.GetInt64(7), BillingColumns.Text(r, 8), BillingColumns.Text(r, 9), BillingColumns.Text(r, 10), Micros.To(r.GetInt64(11))));
        }
        return list;
    }

    private async Task<IReadOnlyList<CustomerCreditBalanceRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<CustomerCreditBalanceRecord>();
        while (await r.ReadAsync())
            list.Add(new CustomerCreditBalanceRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetInt64(4), Micros.To(r.GetInt64(5))));
        return list;
    }
}

internal sealed class SqlCreditNotes(SqlSession s) : ICreditNoteStore
{
    private const string Columns = "account_id, livemode, id, invoice_id, customer_id, currency, amount, reason, refund, kind, status, refund_id, lines, created_at, voided_at";

    public Task InsertAsync(CreditNoteRecord n) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO credit_notes ({Columns}) VALUES (@AccountId, @Livemode, @Id, @InvoiceId, @CustomerId, @Currency, @Amount, @Reason, @Refund, @Kind, @Status,
              @RefundId, @Lines, @created, @voided)
            """, Args(n), s.Transaction);

    public async Task<CreditNoteRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Query($"SELECT {Columns} FROM credit_notes WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public Task UpdateAsync(CreditNoteRecord n) =>
        s.Connection.ExecuteAsync("""
            UPDATE credit_notes SET status = @Status, refund_id = @RefundId, voided_at = @voided
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, Args(n), s.Transaction);

    public Task<IReadOnlyList<CreditNoteRecord>> ListAsync(Tenant tenant, CreditNoteFilter f, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM credit_notes
            WHERE account_id = @AccountId AND livemode = @Livemode
              AND (@invoiceId IS NULL OR invoice_id = @invoiceId)
              AND (@customerId IS NULL OR customer_id = @customerId)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, invoiceId = f.InvoiceId, customerId = f.CustomerId, hasCursor = after is null ? 0 : 1,
                afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public async Task<long> IssuedTotalAsync(Tenant tenant, string invoiceId) =>
        Convert.ToInt64(await s.Connection.ExecuteScalarAsync<object>("""
            SELECT COALESCE(SUM(amount), 0) FROM credit_notes
            WHERE account_id = @AccountId AND livemode = @Livemode AND invoice_id = @invoiceId AND status <> 'void'
            """, new { tenant.AccountId, tenant.Livemode, invoiceId }, s.Transaction), CultureInfo.InvariantCulture);

    private static object Args(CreditNoteRecord n) => new
    {
        n.AccountId, n.Livemode, n.Id, n.InvoiceId, n.CustomerId, n.Currency, n.Amount, n.Reason, n.Refund, n.Kind, n.Status, n.RefundId, n.Lines,
        created = Micros.From(n.CreatedAt), voided = BillingColumns.Opt(n.VoidedAt),
    };

    private async Task<IReadOnlyList<CreditNoteRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<CreditNoteRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new CreditNoteRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt64(6),
                r.GetString(7), r.GetString(8), r.GetString(9), r.GetString(10), BillingColumns.Text(r, 11), BillingColumns.Text(r, 12),
                Micros.To(r.GetInt64(13)), BillingColumns.Time(r, 14)));
        }
        return list;
    }
}
