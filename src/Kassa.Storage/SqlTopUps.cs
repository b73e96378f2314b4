using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Engine.TopUps;

namespace Kassa.Storage;

internal sealed class SqlTopUps(SqlSession s) : ITopUpStore
{
    private const string Columns = "account_id, livemode, customer_id, feature_id, threshold, quantity, product_id, enabled, created_at, updated_at";

    public async Task<AutoTopUpRecord?> GetAsync(Tenant tenant, string customerId, string featureId)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(
            $"SELECT {Columns} FROM auto_top_ups WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND feature_id = @featureId",
            new { tenant.AccountId, tenant.Livemode, customerId, featureId }, s.Transaction);
        if (!await r.ReadAsync()) return null;
        return new AutoTopUpRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetInt64(5), r.GetString(6), r.GetBoolean(7),
            Micros.To(r.GetInt64(8)), Micros.To(r.GetInt64(9)));
    }

    public Task UpsertAsync(AutoTopUpRecord t) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO auto_top_ups ({Columns}) VALUES (@AccountId, @Livemode, @CustomerId, @FeatureId, @Threshold, @Quantity, @ProductId, @Enabled, @created, @updated)
            ON CONFLICT (account_id, livemode, customer_id, feature_id) DO UPDATE SET threshold = excluded.threshold, quantity = excluded.quantity,
                product_id = excluded.product_id, enabled = excluded.enabled, updated_at = excluded.updated_at
            """, new { t.AccountId, t.Livemode, t.CustomerId, t.FeatureId, t.Threshold, t.Quantity, t.ProductId, t.Enabled,
                created = Micros.From(t.CreatedAt), updated = Micros.From(t.UpdatedAt) }, s.Transaction);
}
