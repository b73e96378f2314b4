using Dapper;
using Kassa.Engine.Common;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Npgsql;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// PostgreSQL migration 0030 on a database that already holds credit movements: the customer order becomes the table's
/// key and the only index, every movement is still listed (by customer and across customers, newest first), and the
/// key still refuses a repeated row. A database is built with every migration before it, then the store migrates the rest.
/// </summary>
public sealed class PostgresCreditTransactionsKeyMigrationTests
{
    private static readonly Tenant Acme = new("acct_ct", false);

    private const string Insert = """
        INSERT INTO credit_transactions (account_id, livemode, id, customer_id, feature_id, entity_id, type, amount, bucket_id, balance_after,
          source_type, source_id, created_at)
        VALUES ('acct_ct', false, @id, @customer, 'calls', '', 'consume', -5000000, NULL, 0, NULL, NULL, @created)
        """;

    [Fact]
    public async Task Movements_stay_listed_in_order_and_the_customer_order_is_the_only_index()
    {
        await using var database = await MigrationsBefore.PostgresAsync("0030_credit_transactions_keyed_by_customer");
        var db = database.ConnectionString;
        await using (var c = new NpgsqlConnection(db))
        {
            await c.OpenAsync();
            await c.ExecuteAsync(Insert, new { id = "ctx_old", customer = "cus_1", created = 1_000_000L });
            await c.ExecuteAsync(Insert, new { id = "ctx_other", customer = "cus_2", created = 1_500_000L });
            await c.ExecuteAsync(Insert, new { id = "ctx_new", customer = "cus_1", created = 2_000_000L });
        }
        await using var store = StoreFactory.Open(db, TimeProvider.System);
        await store.MigrateAsync();

        var customer = await store.ReadAsync(s => s.Balances.ListTransactionsAsync(Acme, "cus_1", null, null, 10));
        Assert.Equal(["ctx_new", "ctx_old"], customer.Select(t => t.Id));
        Assert.Equal([-5_000_000L, -5_000_000L], customer.Select(t => t.Amount));
        var all = await store.ReadAsync(s => s.Balances.ListTransactionsAsync(Acme, null, null, null, 10));
        Assert.Equal(["ctx_new", "ctx_other", "ctx_old"], all.Select(t => t.Id));

        await using (var c = new NpgsqlConnection(db))
        {
            await c.OpenAsync();
            var indexes = (await c.QueryAsync<(string Name, bool Primary, string Columns)>("""
                SELECT i.relname, x.indisprimary, pg_get_indexdef(x.indexrelid)
                FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                WHERE x.indrelid = 'credit_transactions'::regclass
                """)).ToList();
            var key = Assert.Single(indexes);
            Assert.Equal("credit_transactions_pkey", key.Name);
            Assert.True(key.Primary);
            Assert.EndsWith("(account_id, livemode, customer_id, created_at, id)", key.Columns);
            var repeated = await Assert.ThrowsAsync<PostgresException>(() => c.ExecuteAsync(Insert, new { id = "ctx_new", customer = "cus_1", created = 2_000_000L }));
            Assert.Equal(PostgresErrorCodes.UniqueViolation, repeated.SqlState);
        }
    }
}
