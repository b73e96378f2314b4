using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlUsageBilling(SqlSession s) : IUsageBillingStore
{
    public Task<IReadOnlyList<MeterRecord>> MetersOfFeaturesAsync(Tenant tenant, IReadOnlyCollection<string> featureIds, int limit) =>
        ((SqlMetering)s.Metering).QueryMeters($"""
            SELECT {SqlMetering.MeterColumns} FROM meters
            WHERE account_id = @AccountId AND livemode = @Livemode AND {s.In("feature_id", "ids", featureIds)}
            ORDER BY id LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, ids = s.List(featureIds), limit });

    // The invoices come from the subscription's index (account, mode, subscription, period start), so the
    // look-back reads only the few cycle invoices of its window and their lines by primary key.
    public async Task<IReadOnlyList<BilledUsage>> BilledUsageAsync(Tenant tenant, string subscriptionId, IReadOnlyCollection<string> featureIds,
        DateTimeOffset invoicedFrom, int limit)
    {
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT l.feature_id, l.period_start, SUM(l.quantity_micros), SUM(l.amount)
            FROM invoices i
            JOIN invoice_lines l ON l.account_id = i.account_id AND l.livemode = i.livemode AND l.invoice_id = i.id
            WHERE i.account_id = @AccountId AND i.livemode = @Livemode AND i.subscription_id = @subscriptionId AND i.period_start >= @from
              AND i.billing_reason = 'subscription_cycle' AND l.type IN ('usage', 'prior_period') AND l.period_start IS NOT NULL
              AND {s.In("l.feature_id", "ids", featureIds)}
            GROUP BY l.feature_id, l.period_start
            ORDER BY l.period_start, l.feature_id
            LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, subscriptionId, from = Micros.From(invoicedFrom), ids = s.List(featureIds), limit }, s.Transaction);
        var list = new List<BilledUsage>();
        while (await r.ReadAsync())
            list.Add(new BilledUsage(r.GetString(0), Micros.To(r.GetInt64(1)), Convert.ToInt64(r.GetValue(2)), Convert.ToInt64(r.GetValue(3))));
        return list;
    }
}
