using Dapper;
using Kassa.Engine.Common;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Microsoft.Data.Sqlite;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// balance_buckets_expiring holds only buckets that expire (SQLite migration 0031): a bucket without an expiry
/// writes no entry, and the maintenance query that finds expired buckets still reads through the index.
/// </summary>
public sealed class SqliteBucketExpiryIndexTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-bucket-expiry-index-tests");
    private static readonly DateTimeOffset Now = new(2026, 11, 3, 10, 0, 0, TimeSpan.Zero);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Buckets_without_an_expiry_stay_out_of_the_index_and_expired_ones_are_found_through_it()
    {
        var path = _temp.File("expiry.db");
        await using (var store = new SqliteStore($"Data Source={path}", TimeProvider.System))
        {
            await store.MigrateAsync();
        }
        await using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        await c.OpenAsync();
        async Task Bucket(string id, string customer, DateTimeOffset? expiresAt, bool voided = false) =>
            await c.ExecuteAsync("""
                INSERT INTO balance_buckets (account_id, livemode, customer_id, feature_id, entity_id, id, kind, priority, category,
                  granted, used, held, effective_at, expires_at, created_at, voided, expiry_recorded)
                VALUES ('acct_x', 0, @customer, 'api', '', @id, 'grant', 0, 'paid', 10, 0, 0, @at, @expires, @at, @voided, 0)
                """, new { id, customer, at = Micros.From(Now.AddDays(-2)), expires = expiresAt is { } e ? Micros.From(e) : (long?)null, voided = voided ? 1 : 0 });
        await Bucket("bkt_never", "cus_never", null);
        await Bucket("bkt_expired", "cus_expired", Now.AddHours(-1));
        await Bucket("bkt_later", "cus_later", Now.AddHours(1));
        await Bucket("bkt_voided", "cus_voided", Now.AddHours(-1), voided: true);

        // The index's entries: the two live buckets with an expiry, not the one without, not the voided one.
        var entries = await c.QueryAsync<string>("SELECT id FROM balance_buckets INDEXED BY balance_buckets_expiring WHERE expires_at > -1 AND expiry_recorded = 0 AND voided = 0 ORDER BY id");
        Assert.Equal(["bkt_expired", "bkt_later"], entries);

        await using (var store = new SqliteStore($"Data Source={path}", TimeProvider.System))
        {
            var due = await store.ReadAsync(s => s.Balances.DueForMaintenanceAsync(Now, 100));
            Assert.Equal(["cus_expired"], due.Select(d => d.CustomerId));
        }

        // The maintenance query's bucket part reads through the index (a comparison on expires_at implies the
        // index's expires_at IS NOT NULL), not a scan of the table.
        var plan = string.Join("\n", (await c.QueryAsync("""
            EXPLAIN QUERY PLAN SELECT account_id, livemode, customer_id FROM balance_buckets
            WHERE expires_at <= 5 AND expiry_recorded = 0 AND voided = 0
            """)).Select(row => (string)row.detail));
        Assert.Contains("balance_buckets_expiring", plan);
        // The index is partial over expiring buckets: the query for buckets without an expiry cannot use it.
        await Assert.ThrowsAsync<SqliteException>(() => c.QueryAsync<string>(
            "SELECT id FROM balance_buckets INDEXED BY balance_buckets_expiring WHERE expires_at IS NULL AND expiry_recorded = 0 AND voided = 0"));
    }
}
