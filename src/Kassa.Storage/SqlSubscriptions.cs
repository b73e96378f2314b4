using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlSubscriptions(SqlSession s) : ISubscriptionStore
{
    public Task InsertAsync(SubscriptionSummary sub, Tenant tenant, string customerId, long quantity, DateTimeOffset now) =>
        s.Connection.ExecuteAsync("""
            INSERT INTO subscriptions (account_id, livemode, id, customer_id, product_id, product_version, status, quantity, current_period_start,
                current_period_end, trial_end, cancel_at_period_end, canceled_at, paused, scheduled_product_id, created_at)
            VALUES (@AccountId, @Livemode, @id, @customerId, @productId, @version, @status, @quantity, @now, NULL, NULL, @no, NULL, @no, @scheduled, @now)
            """, new { tenant.AccountId, tenant.Livemode, id = sub.Id, customerId, productId = sub.ProductId, version = sub.ProductVersion, status = sub.Status,
                quantity, now = Micros.From(now), no = false, scheduled = sub.ScheduledProductId }, s.Transaction);
}
