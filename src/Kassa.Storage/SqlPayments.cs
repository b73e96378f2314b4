using System.Data.Common;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlPayments(SqlSession s) : IPaymentStore
{
    private const string MethodColumns = "account_id, livemode, id, customer_id, provider, provider_token, card_brand, card_last4, card_exp_month, card_exp_year, " +
        "is_default, created_at, detached_at";
    private const string PaymentColumns = "account_id, livemode, id, customer_id, invoice_id, amount, currency, status, failure_code, failure_message, " +
        "payment_method_id, provider, provider_charge_id, amount_refunded, description, request_key, created_at, settled_at";
    private const string RefundColumns = "account_id, livemode, id, payment_id, credit_note_id, amount, currency, status, failure_code, provider_refund_id, " +
        "request_key, created_at, settled_at";

    public Task InsertMethodAsync(PaymentMethodRecord m) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO payment_methods ({MethodColumns}) VALUES (@AccountId, @Livemode, @Id, @CustomerId, @Provider, @ProviderToken, @CardBrand, @CardLast4,
              @CardExpMonth, @CardExpYear, @IsDefault, @created, @detached)
            """, MethodArgs(m), s.Transaction);

    public async Task<PaymentMethodRecord?> GetMethodAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Methods($"SELECT {MethodColumns} FROM payment_methods WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public Task UpdateMethodAsync(PaymentMethodRecord m) =>
        s.Connection.ExecuteAsync("""
            UPDATE payment_methods SET is_default = @IsDefault, detached_at = @detached
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, MethodArgs(m), s.Transaction);

    public Task<IReadOnlyList<PaymentMethodRecord>> ListMethodsAsync(Tenant tenant, string customerId, Cursor? after, int limit) =>
        Methods($"""
            SELECT {MethodColumns} FROM payment_methods
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND detached_at IS NULL
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0,
                afterId = after?.Id ?? "", limit });

    public async Task<PaymentMethodRecord?> DefaultMethodAsync(Tenant tenant, string customerId) =>
        (await Methods($"""
            SELECT {MethodColumns} FROM payment_methods
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND {s.Dialect.IsTrue("is_default")}
            """, new { tenant.AccountId, tenant.Livemode, customerId, yes = true })).FirstOrDefault();

    public Task InsertPaymentAsync(PaymentRecord p) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO payments ({PaymentColumns}) VALUES (@AccountId, @Livemode, @Id, @CustomerId, @InvoiceId, @Amount, @Currency, @Status, @FailureCode,
              @FailureMessage, @PaymentMethodId, @Provider, @ProviderChargeId, @AmountRefunded, @Description, @RequestKey, @created, @settled)
            """, PaymentArgs(p), s.Transaction);

    public async Task<PaymentRecord?> GetPaymentAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Payments($"SELECT {PaymentColumns} FROM payments WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public async Task<PaymentRecord?> FindPaymentByRequestKeyAsync(Tenant tenant, string requestKey) =>
        (await Payments($"SELECT {PaymentColumns} FROM payments WHERE account_id = @AccountId AND livemode = @Livemode AND request_key = @requestKey",
            new { tenant.AccountId, tenant.Livemode, requestKey })).FirstOrDefault();

    public async Task<PaymentRecord?> ProcessingPaymentOfInvoiceAsync(Tenant tenant, string invoiceId) =>
        (await Payments($"""
            SELECT {PaymentColumns} FROM payments
            WHERE account_id = @AccountId AND livemode = @Livemode AND invoice_id = @invoiceId AND status = 'processing'
            """, new { tenant.AccountId, tenant.Livemode, invoiceId })).FirstOrDefault();

    public async Task<PaymentRecord?> PaymentThatPaidAsync(Tenant tenant, string invoiceId) =>
        (await Payments($"""
            SELECT {PaymentColumns} FROM payments
            WHERE account_id = @AccountId AND livemode = @Livemode AND invoice_id = @invoiceId
              AND status IN ('succeeded', 'partially_refunded', 'refunded')
            ORDER BY created_at DESC, id DESC LIMIT 1
            """, new { tenant.AccountId, tenant.Livemode, invoiceId })).FirstOrDefault();

    public Task UpdatePaymentAsync(PaymentRecord p) =>
        s.Connection.ExecuteAsync("""
            UPDATE payments SET status = @Status, failure_code = @FailureCode, failure_message = @FailureMessage, provider_charge_id = @ProviderChargeId,
              amount_refunded = @AmountRefunded, settled_at = @settled
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, PaymentArgs(p), s.Transaction);

    public Task<IReadOnlyList<PaymentRecord>> ListPaymentsAsync(Tenant tenant, string? customerId, Cursor? after, int limit) =>
        Payments($"""
            SELECT {PaymentColumns} FROM payments
            WHERE account_id = @AccountId AND livemode = @Livemode AND (@customerId IS NULL OR customer_id = @customerId)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0,
                afterId = after?.Id ?? "", limit });

    public Task<IReadOnlyList<UnsettledAttempt>> ProcessingPaymentsAsync(DateTimeOffset before, int limit) =>
        Unsettled("SELECT account_id, livemode, id FROM payments WHERE status = 'processing' AND created_at < @before ORDER BY created_at LIMIT @limit",
            before, limit);

    public Task InsertRefundAsync(RefundRecord r) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO refunds ({RefundColumns}) VALUES (@AccountId, @Livemode, @Id, @PaymentId, @CreditNoteId, @Amount, @Currency, @Status, @FailureCode,
              @ProviderRefundId, @RequestKey, @created, @settled)
            """, RefundArgs(r), s.Transaction);

    public async Task<RefundRecord?> GetRefundAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Refunds($"SELECT {RefundColumns} FROM refunds WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public async Task<RefundRecord?> FindRefundByRequestKeyAsync(Tenant tenant, string requestKey) =>
        (await Refunds($"SELECT {RefundColumns} FROM refunds WHERE account_id = @AccountId AND livemode = @Livemode AND request_key = @requestKey",
            new { tenant.AccountId, tenant.Livemode, requestKey })).FirstOrDefault();

    public Task UpdateRefundAsync(RefundRecord r) =>
        s.Connection.ExecuteAsync("""
            UPDATE refunds SET status = @Status, failure_code = @FailureCode, provider_refund_id = @ProviderRefundId, settled_at = @settled
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, RefundArgs(r), s.Transaction);

    public async Task<long> PendingRefundTotalAsync(Tenant tenant, string paymentId) =>
        await s.Connection.ExecuteScalarAsync<long?>("""
            SELECT SUM(amount) FROM refunds WHERE account_id = @AccountId AND livemode = @Livemode AND payment_id = @paymentId AND status = 'pending'
            """, new { tenant.AccountId, tenant.Livemode, paymentId }, s.Transaction) ?? 0;

    public Task<IReadOnlyList<UnsettledAttempt>> PendingRefundsAsync(DateTimeOffset before, int limit) =>
        Unsettled("SELECT account_id, livemode, id FROM refunds WHERE status = 'pending' AND created_at < @before ORDER BY created_at LIMIT @limit",
            before, limit);

    private async Task<IReadOnlyList<UnsettledAttempt>> Unsettled(string sql, DateTimeOffset before, int limit)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, new { before = Micros.From(before), limit }, s.Transaction);
        var list = new List<UnsettledAttempt>();
        while (await r.ReadAsync()) list.Add(new UnsettledAttempt(new Tenant(r.GetString(0), r.GetBoolean(1)), r.GetString(2)));
        return list;
    }

    private static object MethodArgs(PaymentMethodRecord m) => new
    {
        m.AccountId, m.Livemode, m.Id, m.CustomerId, m.Provider, m.ProviderToken, m.CardBrand, m.CardLast4, m.CardExpMonth, m.CardExpYear, m.IsDefault,
        created = Micros.From(m.CreatedAt), detached = Opt(m.DetachedAt),
    };

    private static object PaymentArgs(PaymentRecord p) => new
    {
        p.AccountId, p.Livemode, p.Id, p.CustomerId, p.InvoiceId, p.Amount, p.Currency, p.Status, p.FailureCode, p.FailureMessage, p.PaymentMethodId,
        p.Provider, p.ProviderChargeId, p.AmountRefunded, p.Description, p.RequestKey, created = Micros.From(p.CreatedAt), settled = Opt(p.SettledAt),
    };

    private static object RefundArgs(RefundRecord r) => new
    {
        r.AccountId, r.Livemode, r.Id, r.PaymentId, r.CreditNoteId, r.Amount, r.Currency, r.Status, r.FailureCode, r.ProviderRefundId, r.RequestKey,
        created = Micros.From(r.CreatedAt), settled = Opt(r.SettledAt),
    };

    private static long? Opt(DateTimeOffset? t) => t is { } v ? Micros.From(v) : null;

    private static string? Str(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? Time(DbDataReader r, int i) => r.IsDBNull(i) ? null : Micros.To(r.GetInt64(i));

    private async Task<IReadOnlyList<PaymentMethodRecord>> Methods(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<PaymentMethodRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new PaymentMethodRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6),
                r.GetString(7), r.GetInt32(8), r.GetInt32(9), r.GetBoolean(10), Micros.To(r.GetInt64(11)), Time(r, 12)));
        }
        return list;
    }

    private async Task<IReadOnlyList<PaymentRecord>> Payments(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<PaymentRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new PaymentRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), Str(r, 4), r.GetInt64(5), r.GetString(6), r.GetString(7),
                Str(r, 8), Str(r, 9), r.GetString(10), r.GetString(11), Str(r, 12), r.GetInt64(13), Str(r, 14), Str(r, 15), Micros.To(r.GetInt64(16)), Time(r, 17)));
        }
        return list;
    }

    private async Task<IReadOnlyList<RefundRecord>> Refunds(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<RefundRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new RefundRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), Str(r, 4), r.GetInt64(5), r.GetString(6), r.GetString(7),
                Str(r, 8), Str(r, 9), Str(r, 10), Micros.To(r.GetInt64(11)), Time(r, 12)));
        }
        return list;
    }
}
