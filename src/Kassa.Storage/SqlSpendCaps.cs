using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.SpendCaps;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlSpendCaps(SqlSession s) : ISpendCapStore
{
    private const string Columns = "account_id, livemode, customer_id, feature_id, max_overage_amount, created_at, updated_at";

    public async Task<SpendCapRecord?> GetAsync(Tenant tenant, string customerId, string featureId) =>
        (await Query($"SELECT {Columns} FROM spend_caps WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND feature_id = @featureId",
            new { tenant.AccountId, tenant.Livemode, customerId, featureId })).FirstOrDefault();

    public Task<IReadOnlyList<SpendCapRecord>> ForCustomersAsync(Tenant tenant, IReadOnlyCollection<string> customerIds) =>
        Query($"""
            SELECT {Columns} FROM spend_caps WHERE account_id = @AccountId AND livemode = @Livemode
              AND {s.In("customer_id", "ids", customerIds)}
            """, new { tenant.AccountId, tenant.Livemode, ids = s.List(customerIds) });

    public Task UpsertAsync(SpendCapRecord c) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO spend_caps ({Columns}) VALUES (@AccountId, @Livemode, @CustomerId, @FeatureId, @MaxOverageAmount, @created, @updated)
            ON CONFLICT (account_id, livemode, customer_id, feature_id) DO UPDATE SET max_overage_amount = excluded.max_overage_amount, updated_at = excluded.updated_at
            """, new { c.AccountId, c.Livemode, c.CustomerId, c.FeatureId, c.MaxOverageAmount, created = Micros.From(c.CreatedAt), updated = Micros.From(c.UpdatedAt) },
            s.Transaction);

    public Task DeleteAsync(Tenant tenant, string customerId, string featureId) =>
        s.Connection.ExecuteAsync(
            "DELETE FROM spend_caps WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND feature_id = @featureId",
            new { tenant.AccountId, tenant.Livemode, customerId, featureId }, s.Transaction);

    private async Task<IReadOnlyList<SpendCapRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<SpendCapRecord>();
        while (await r.ReadAsync())
            list.Add(new SpendCapRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetInt64(4), Micros.To(r.GetInt64(5)), Micros.To(r.GetInt64(6))));
        return list;
    }
}
