using System.Data.Common;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlDisputes(SqlSession s) : IDisputeStore
{
    private const string Columns = "account_id, livemode, id, payment_id, customer_id, amount, currency, reason, status, provider, provider_dispute_id, " +
        "created_at, updated_at, closed_at";

    public Task InsertAsync(DisputeRecord d) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO disputes ({Columns}) VALUES (@AccountId, @Livemode, @Id, @PaymentId, @CustomerId, @Amount, @Currency, @Reason, @Status, @Provider,
              @ProviderDisputeId, @created, @updated, @closed)
            """, Args(d), s.Transaction);

    public Task UpdateAsync(DisputeRecord d) =>
        s.Connection.ExecuteAsync("""
            UPDATE disputes SET status = @Status, updated_at = @updated, closed_at = @closed
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, Args(d), s.Transaction);

    public async Task<DisputeRecord?> GetAsync(Tenant tenant, string id) =>
        (await Read($"SELECT {Columns} FROM disputes WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public async Task<DisputeRecord?> FindByProviderIdAsync(Tenant tenant, string provider, string providerDisputeId, bool forUpdate) =>
        (await Read($"""
            SELECT {Columns} FROM disputes
            WHERE account_id = @AccountId AND livemode = @Livemode AND provider = @provider AND provider_dispute_id = @providerDisputeId{(forUpdate ? s.Dialect.ForUpdate : "")}
            """, new { tenant.AccountId, tenant.Livemode, provider, providerDisputeId })).FirstOrDefault();

    public Task<IReadOnlyList<DisputeRecord>> ListAsync(Tenant tenant, string? paymentId, Cursor? after, int limit) =>
        Read($"""
            SELECT {Columns} FROM disputes
            WHERE account_id = @AccountId AND livemode = @Livemode AND (@paymentId IS NULL OR payment_id = @paymentId)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, paymentId, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0,
                afterId = after?.Id ?? "", limit });

    public async Task<IReadOnlyDictionary<string, string>> LatestOfPaymentsAsync(Tenant tenant, IReadOnlyCollection<string> paymentIds)
    {
        var latest = new Dictionary<string, string>(StringComparer.Ordinal);
        if (paymentIds.Count == 0) return latest;
        var rows = await s.Connection.QueryAsync<(string PaymentId, string Id)>($"""
            SELECT payment_id, id FROM disputes
            WHERE account_id = @AccountId AND livemode = @Livemode AND {s.In("payment_id", "ids", paymentIds)}
            ORDER BY created_at, id
            """, new { tenant.AccountId, tenant.Livemode, ids = s.List(paymentIds) }, s.Transaction);
        // Oldest first, so the newest dispute of each payment is the one left in the map.
        foreach (var (paymentId, id) in rows) latest[paymentId] = id;
        return latest;
    }

    private static object Args(DisputeRecord d) => new
    {
        d.AccountId, d.Livemode, d.Id, d.PaymentId, d.CustomerId, d.Amount, d.Currency, d.Reason, d.Status, d.Provider, d.ProviderDisputeId,
        created = Micros.From(d.CreatedAt), updated = Micros.From(d.UpdatedAt), closed = d.ClosedAt is { } c ? Micros.From(c) : (long?)null,
    };

    private async Task<IReadOnlyList<DisputeRecord>> Read(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<DisputeRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new DisputeRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetString(6),
                r.GetString(7), r.GetString(8), r.GetString(9), r.GetString(10), Micros.To(r.GetInt64(11)), Micros.To(r.GetInt64(12)), Time(r, 13)));
        }
        return list;
    }

    private static DateTimeOffset? Time(DbDataReader r, int i) => r.IsDBNull(i) ? null : Micros.To(r.GetInt64(i));
}
