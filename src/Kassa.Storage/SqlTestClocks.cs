using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlTestClocks(SqlSession s) : ITestClockStore
{
    private const string Columns = "account_id, livemode, id, name, frozen_time, status, created_at, deleted_at";

    public Task InsertAsync(TestClockRecord c) =>
        s.Connection.ExecuteAsync($"INSERT INTO test_clocks ({Columns}) VALUES (@AccountId, @Livemode, @Id, @Name, @frozen, @Status, @created, @deleted)",
            Args(c), s.Transaction);

    public async Task<TestClockRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Query($"SELECT {Columns} FROM test_clocks WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id AND deleted_at IS NULL{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public Task UpdateAsync(TestClockRecord c) =>
        s.Connection.ExecuteAsync("""
            UPDATE test_clocks SET name = @Name, frozen_time = @frozen, status = @Status, deleted_at = @deleted
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, Args(c), s.Transaction);

    public Task<IReadOnlyList<TestClockRecord>> ListAsync(Tenant tenant, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM test_clocks
            WHERE account_id = @AccountId AND livemode = @Livemode AND deleted_at IS NULL
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public async Task<bool> AnyAsync(Tenant tenant) =>
        await s.Connection.ExecuteScalarAsync<int?>(
            "SELECT 1 FROM test_clocks WHERE account_id = @AccountId AND livemode = @Livemode AND deleted_at IS NULL LIMIT 1",
            new { tenant.AccountId, tenant.Livemode }, s.Transaction) is not null;

    private static object Args(TestClockRecord c) => new
    {
        c.AccountId, c.Livemode, c.Id, c.Name, frozen = Micros.From(c.FrozenTime), c.Status, created = Micros.From(c.CreatedAt),
        deleted = c.DeletedAt is { } d ? Micros.From(d) : (long?)null,
    };

    private async Task<IReadOnlyList<TestClockRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<TestClockRecord>();
        while (await r.ReadAsync())
            list.Add(new TestClockRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), Micros.To(r.GetInt64(4)),
                r.GetString(5), Micros.To(r.GetInt64(6)), r.IsDBNull(7) ? null : Micros.To(r.GetInt64(7))));
        return list;
    }
}
