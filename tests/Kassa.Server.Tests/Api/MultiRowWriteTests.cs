using Kassa.Core.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// The balance store's multi-row writes on both engines (on PostgreSQL one INSERT over arrays per table,
/// ADR 0013): every column comes back as written, nulls included, in text, bigint, integer and boolean
/// columns; an INSERT … ON CONFLICT DO NOTHING of rows already there stores nothing twice; and the batch
/// load reads the rows back with the headers, buckets and keyed usage of each customer.
/// </summary>
public abstract class MultiRowWriteTests(KassaHost host)
{
    private static readonly DateTimeOffset At = DateTimeOffset.Parse("2026-12-02T10:00:00.123456Z");

    private static BalanceHeader Header(Tenant t, string customer, long? rolloverMax) => new()
    {
        AccountId = t.AccountId, Livemode = t.Livemode, CustomerId = customer, FeatureId = "api_calls", OveragePolicy = OveragePolicy.Blocked,
        Reset = "month", Allowance = 5_000_000, Anchor = At, PeriodStart = At, NextResetAt = rolloverMax is null ? null : At.AddMonths(1),
        Rollover = rolloverMax is not null, RolloverMax = rolloverMax, UpdatedAt = At, IsNew = true,
    };

    private static StoredBucket Bucket(Tenant t, string customer, string id, int priority, DateTimeOffset? expires, string? name) => new()
    {
        AccountId = t.AccountId, Livemode = t.Livemode, CustomerId = customer, FeatureId = "api_calls", Name = name,
        Bucket = new Bucket(id, BucketKind.Grant, priority, GrantCategory.Paid, 3_000_000, 1_000_000, 0, At, expires, At), IsNew = true,
    };

    [Fact]
    public async Task Rows_written_together_read_back_exactly_with_their_nulls_and_a_repeated_insert_stores_nothing_twice()
    {
        var tenant = new Tenant((await host.NewAccountAsync()).AccountId, false);
        string[] customers = [Wire.NewId("cus"), Wire.NewId("cus")];
        var transactions = new[]
        {
            new CreditTransactionRecord(tenant.AccountId, false, Wire.NewId("ctx"), customers[0], "api_calls", "", MovementType.Consume, -2_500_000, "bkt_a", 500_000, "track", "req_1", At),
            new CreditTransactionRecord(tenant.AccountId, false, Wire.NewId("ctx"), customers[0], "api_calls", "ent_1", MovementType.Grant, 7_000_000, null, 7_500_000, null, null, At.AddSeconds(1)),
            new CreditTransactionRecord(tenant.AccountId, false, Wire.NewId("ctx"), customers[1], "api_calls", "", MovementType.Consume, -1, null, -1, "check", "req_2", At.AddSeconds(2)),
        };
        var usage = new[]
        {
            new UsageRecord(tenant.AccountId, false, Wire.NewId("use"), customers[0], "api_calls", "", 2_500_000, "key-1", "{\"allowed\":true}", At, At),
            new UsageRecord(tenant.AccountId, false, Wire.NewId("use"), customers[1], "api_calls", "", 1, null, null, At, At),
        };
        await host.Store.WriteAsync(async s =>
        {
            await s.Balances.WriteTogetherAsync(async () =>
            {
                await s.Balances.SaveHeadersAsync([Header(tenant, customers[0], 2_000_000), Header(tenant, customers[1], null)]);
                await s.Balances.SaveBucketsAsync([Bucket(tenant, customers[0], "bkt_a", 7, At.AddDays(30), "Promo"), Bucket(tenant, customers[0], "bkt_b", -3, null, null)]);
                await s.Balances.InsertTransactionsAsync(transactions);
                await s.Balances.InsertUsageAsync(usage);
            });
            return true;
        });
        // The same new headers again: ON CONFLICT DO NOTHING, one row each.
        await host.Store.WriteAsync(async s =>
        {
            await s.Balances.SaveHeadersAsync([Header(tenant, customers[0], 9), Header(tenant, customers[1], 9)]);
            return true;
        });

        var listed = await host.Store.ReadAsync(s => s.Balances.ListTransactionsAsync(tenant, null, null, null, 10));
        Assert.Equal(transactions.OrderByDescending(t => t.CreatedAt).ToList(), listed);

        var rows = await host.Store.ReadAsync(s => s.Balances.LoadBookAsync(new BookQuery(tenant, customers, ForUpdate: false, At, CustomersKnownToExist: true,
            ["api_calls"], ["key-1", "key-2"])));
        Assert.Equal(2, rows.Headers.Count);
        var first = rows.Headers.Single(h => h.CustomerId == customers[0]);
        Assert.Equal((2_000_000L, true, At.AddMonths(1)), (first.RolloverMax!.Value, first.Rollover, first.NextResetAt!.Value));
        var second = rows.Headers.Single(h => h.CustomerId == customers[1]);
        Assert.Equal(((long?)null, false, (DateTimeOffset?)null), (second.RolloverMax, second.Rollover, second.NextResetAt));
        Assert.False(first.Changed);

        var buckets = rows.Buckets.OrderBy(b => b.Bucket.Id).ToList();
        Assert.Equal(["bkt_a", "bkt_b"], buckets.Select(b => b.Bucket.Id));
        Assert.Equal((7, At.AddDays(30), "Promo", 3_000_000L, 1_000_000L), (buckets[0].Bucket.Priority, buckets[0].Bucket.ExpiresAt!.Value, buckets[0].Name!, buckets[0].Bucket.Granted, buckets[0].Bucket.Used));
        Assert.Equal((-3, (DateTimeOffset?)null, (string?)null), (buckets[1].Bucket.Priority, buckets[1].Bucket.ExpiresAt, buckets[1].Name));

        var keyed = Assert.Single(rows.Usage);
        Assert.Equal(usage[0], keyed);
        Assert.Empty(rows.HeldLocks);
    }
}

public sealed class MultiRowWriteTestsSqlite(SqliteHost host) : MultiRowWriteTests(host), IClassFixture<SqliteHost>;

public sealed class MultiRowWriteTestsPostgres(PostgresHost host) : MultiRowWriteTests(host), IClassFixture<PostgresHost>;
