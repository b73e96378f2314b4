using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlProviderEvents(SqlSession s) : IProviderEventStore
{
    public async Task<bool> TryInsertAsync(ProviderEventRecord e) =>
        // ON CONFLICT DO NOTHING rather than catching a unique violation: on PostgreSQL a violation would
        // abort the whole transaction, while this waits for a concurrent insert of the same key to commit
        // and then simply inserts nothing (the duplicate answer).
        await s.Connection.ExecuteAsync("""
            INSERT INTO provider_events (account_id, livemode, provider, event_id, type, effect, outcome, received_at)
            VALUES (@AccountId, @Livemode, @Provider, @EventId, @Type, @Effect, @Outcome, @received)
            ON CONFLICT (account_id, livemode, provider, event_id) DO NOTHING
            """, new { e.AccountId, e.Livemode, e.Provider, e.EventId, e.Type, e.Effect, e.Outcome, received = Micros.From(e.ReceivedAt) }, s.Transaction) == 1;

    public Task SetOutcomeAsync(Tenant tenant, string provider, string eventId, string outcome) =>
        s.Connection.ExecuteAsync("""
            UPDATE provider_events SET outcome = @outcome
            WHERE account_id = @AccountId AND livemode = @Livemode AND provider = @provider AND event_id = @eventId
            """, new { tenant.AccountId, tenant.Livemode, provider, eventId, outcome }, s.Transaction);

    public async Task<ProviderEventRecord?> GetAsync(Tenant tenant, string provider, string eventId)
    {
        await using var r = await s.Connection.ExecuteReaderAsync("""
            SELECT account_id, livemode, provider, event_id, type, effect, outcome, received_at FROM provider_events
            WHERE account_id = @AccountId AND livemode = @Livemode AND provider = @provider AND event_id = @eventId
            """, new { tenant.AccountId, tenant.Livemode, provider, eventId }, s.Transaction);
        if (!await r.ReadAsync()) return null;
        return new ProviderEventRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
            r.GetString(6), Micros.To(r.GetInt64(7)));
    }

    public Task<string?> PaymentIdByChargeAsync(Tenant tenant, string provider, string providerChargeId) =>
        s.Connection.QueryFirstOrDefaultAsync<string?>("""
            SELECT id FROM payments
            WHERE account_id = @AccountId AND livemode = @Livemode AND provider_charge_id = @providerChargeId AND provider = @provider
            ORDER BY created_at, id LIMIT 1
            """, new { tenant.AccountId, tenant.Livemode, provider, providerChargeId }, s.Transaction);

    public Task<string?> RefundIdByProviderRefundAsync(Tenant tenant, string providerRefundId) =>
        s.Connection.QueryFirstOrDefaultAsync<string?>("""
            SELECT id FROM refunds WHERE account_id = @AccountId AND livemode = @Livemode AND provider_refund_id = @providerRefundId
            """, new { tenant.AccountId, tenant.Livemode, providerRefundId }, s.Transaction);

    public async Task<IReadOnlyList<string>> AttachedMethodIdsByTokenAsync(Tenant tenant, string provider, string token, string? customerId, int limit) =>
        [.. await s.Connection.QueryAsync<string>("""
            SELECT id FROM payment_methods
            WHERE account_id = @AccountId AND livemode = @Livemode AND provider_token = @token AND provider = @provider AND detached_at IS NULL
              AND (@customerId IS NULL OR customer_id = @customerId)
            ORDER BY created_at, id LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, provider, token, customerId, limit }, s.Transaction)];
}
