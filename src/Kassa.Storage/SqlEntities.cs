using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlEntities(SqlSession s) : IEntityStore
{
    private const string Columns = "account_id, livemode, customer_id, id, feature_id, name, created_at, deleted_at";

    public async Task<EntityRecord?> GetAsync(Tenant tenant, string customerId, string id) =>
        (await Query($"SELECT {Columns} FROM entities WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND id = @id",
            new { tenant.AccountId, tenant.Livemode, customerId, id })).FirstOrDefault();

    public Task InsertAsync(EntityRecord e) =>
        s.Connection.ExecuteAsync($"INSERT INTO entities ({Columns}) VALUES (@AccountId, @Livemode, @CustomerId, @Id, @FeatureId, @Name, @created, @deleted)",
            Args(e), s.Transaction);

    public Task UpdateAsync(EntityRecord e) =>
        s.Connection.ExecuteAsync("""
            UPDATE entities SET feature_id = @FeatureId, name = @Name, created_at = @created, deleted_at = @deleted
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @CustomerId AND id = @Id
            """, Args(e), s.Transaction);

    public Task<IReadOnlyList<EntityRecord>> ListAsync(Tenant tenant, string customerId, string? featureId, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM entities
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND deleted_at IS NULL
              AND (@featureId IS NULL OR feature_id = @featureId)
              AND (@hasCursor = 0 OR (created_at, id) > (@afterCreated, @afterId))
            ORDER BY created_at, id LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId, featureId, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0,
                afterId = after?.Id ?? "", limit });

    private static object Args(EntityRecord e) => new
    {
        e.AccountId, e.Livemode, e.CustomerId, e.Id, e.FeatureId, e.Name, created = Micros.From(e.CreatedAt),
        deleted = e.DeletedAt is { } d ? Micros.From(d) : (long?)null,
    };

    private async Task<IReadOnlyList<EntityRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<EntityRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new EntityRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
                Micros.To(r.GetInt64(6)), r.IsDBNull(7) ? null : Micros.To(r.GetInt64(7))));
        }
        return list;
    }
}
