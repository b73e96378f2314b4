using System.Data.Common;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlCheckout(SqlSession s) : ICheckoutStore
{
    private const string Columns = "account_id, livemode, id, customer_id, mode, status, product_id, quantity, amount_total, currency, description, invoice_id, " +
        "subscription_id, payment_id, pending_payment_id, payment_method_id, last_failure_code, success_url, cancel_url, form_nonce, expires_at, completed_at, created_at";

    public Task InsertAsync(CheckoutSessionRecord c) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO checkout_sessions ({Columns}) VALUES (@AccountId, @Livemode, @Id, @CustomerId, @Mode, @Status, @ProductId, @Quantity, @AmountTotal,
              @Currency, @Description, @InvoiceId, @SubscriptionId, @PaymentId, @PendingPaymentId, @PaymentMethodId, @LastFailureCode, @SuccessUrl, @CancelUrl,
              @FormNonce, @expires, @completed, @created)
            """, Args(c), s.Transaction);

    public async Task<CheckoutSessionRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Read($"SELECT {Columns} FROM checkout_sessions WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public Task UpdateAsync(CheckoutSessionRecord c) =>
        s.Connection.ExecuteAsync("""
            UPDATE checkout_sessions SET status = @Status, invoice_id = @InvoiceId, subscription_id = @SubscriptionId, payment_id = @PaymentId,
              pending_payment_id = @PendingPaymentId, payment_method_id = @PaymentMethodId, last_failure_code = @LastFailureCode, success_url = @SuccessUrl,
              cancel_url = @CancelUrl, expires_at = @expires, completed_at = @completed
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, Args(c), s.Transaction);

    public async Task<CheckoutSessionRecord?> OpenForInvoiceAsync(Tenant tenant, string invoiceId) =>
        (await Read($"""
            SELECT {Columns} FROM checkout_sessions
            WHERE account_id = @AccountId AND livemode = @Livemode AND invoice_id = @invoiceId AND status = 'open'
            """, new { tenant.AccountId, tenant.Livemode, invoiceId })).FirstOrDefault();

    public async Task<CheckoutSessionRecord?> OpenForSubscriptionAsync(Tenant tenant, string subscriptionId) =>
        (await Read($"""
            SELECT {Columns} FROM checkout_sessions
            WHERE account_id = @AccountId AND livemode = @Livemode AND subscription_id = @subscriptionId AND status = 'open' AND invoice_id IS NULL
            """, new { tenant.AccountId, tenant.Livemode, subscriptionId })).FirstOrDefault();

    public Task<IReadOnlyList<CheckoutSessionRecord>> ListAsync(Tenant tenant, string? customerId, Cursor? after, int limit) =>
        Read($"""
            SELECT {Columns} FROM checkout_sessions
            WHERE account_id = @AccountId AND livemode = @Livemode AND (@customerId IS NULL OR customer_id = @customerId)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0,
                afterId = after?.Id ?? "", limit });

    public async Task<IReadOnlyList<(Tenant Tenant, string Id)>> DueToExpireAsync(DateTimeOffset now, int limit)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(
            "SELECT account_id, livemode, id FROM checkout_sessions WHERE status = 'open' AND expires_at <= @now ORDER BY expires_at LIMIT @limit",
            new { now = Micros.From(now), limit }, s.Transaction);
        var list = new List<(Tenant, string)>();
        while (await r.ReadAsync()) list.Add((new Tenant(r.GetString(0), r.GetBoolean(1)), r.GetString(2)));
        return list;
    }

    public async Task<CheckoutProviderSession?> GetProviderSessionAsync(Tenant tenant, string checkoutSessionId)
    {
        await using var r = await s.Connection.ExecuteReaderAsync("""
            SELECT provider, provider_session_id, url, created_at FROM checkout_provider_sessions
            WHERE account_id = @AccountId AND livemode = @Livemode AND checkout_session_id = @checkoutSessionId
            """, new { tenant.AccountId, tenant.Livemode, checkoutSessionId }, s.Transaction);
        return await r.ReadAsync()
            ? new CheckoutProviderSession(tenant.AccountId, tenant.Livemode, checkoutSessionId, r.GetString(0), r.GetString(1), r.GetString(2), Micros.To(r.GetInt64(3)))
            : null;
    }

    public async Task<bool> TryInsertProviderSessionAsync(CheckoutProviderSession p) =>
        await s.Connection.ExecuteAsync("""
            INSERT INTO checkout_provider_sessions (account_id, livemode, checkout_session_id, provider, provider_session_id, url, created_at)
            VALUES (@AccountId, @Livemode, @CheckoutSessionId, @Provider, @ProviderSessionId, @Url, @created)
            ON CONFLICT DO NOTHING
            """, new { p.AccountId, p.Livemode, p.CheckoutSessionId, p.Provider, p.ProviderSessionId, p.Url, created = Micros.From(p.CreatedAt) }, s.Transaction) == 1;

    private static object Args(CheckoutSessionRecord c) => new
    {
        c.AccountId, c.Livemode, c.Id, c.CustomerId, c.Mode, c.Status, c.ProductId, c.Quantity, c.AmountTotal, c.Currency, c.Description, c.InvoiceId,
        c.SubscriptionId, c.PaymentId, c.PendingPaymentId, c.PaymentMethodId, c.LastFailureCode, c.SuccessUrl, c.CancelUrl, c.FormNonce,
        expires = Micros.From(c.ExpiresAt), completed = c.CompletedAt is { } t ? Micros.From(t) : (long?)null, created = Micros.From(c.CreatedAt),
    };

    private static string? Str(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private async Task<IReadOnlyList<CheckoutSessionRecord>> Read(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<CheckoutSessionRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new CheckoutSessionRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), Str(r, 6),
                r.IsDBNull(7) ? null : r.GetInt64(7), r.GetInt64(8), Str(r, 9), Str(r, 10), Str(r, 11), Str(r, 12), Str(r, 13), Str(r, 14), Str(r, 15),
                Str(r, 16), Str(r, 17), Str(r, 18), r.GetString(19), Micros.To(r.GetInt64(20)), r.IsDBNull(21) ? null : Micros.To(r.GetInt64(21)),
                Micros.To(r.GetInt64(22))));
        }
        return list;
    }
}
