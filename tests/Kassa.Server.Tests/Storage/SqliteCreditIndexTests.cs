using Dapper;
using Kassa.Core.Balances;
using Kassa.Core.Paging;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Microsoft.Data.Sqlite;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// SQLite's credit index (ADR 0018): the balance writer inserts a movement's row only, an indexer copies the
/// committed movements into the customer order of the index file behind a watermark of its own, and a customer's
/// list reads both parts, each movement once, wherever the indexer stands; a restored main file empties the index.
/// </summary>
public sealed class SqliteCreditIndexTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-credit-index-tests");
    private static readonly Tenant Acme = new("acct_credit_index", false);
    private static readonly Tenant Other = new("acct_credit_other", false);
    private static readonly DateTimeOffset Hour = new(2026, 11, 3, 10, 0, 0, TimeSpan.Zero);

    public void Dispose() => _temp.Dispose();

    /// <summary>One pass of the credit indexer, read and written as the worker does.</summary>
    internal static async Task<int> IndexAsync(SqliteStore store)
    {
        var read = await store.ReadAsync(s => s.Balances.ReadCreditTransactionsToIndexAsync(IndexCreditTransactions.PassMovementsMax));
        return await store.WriteEventIndexAsync(s => s.Balances.IndexCreditTransactionsAsync(read, Hour));
    }

    private static Task<bool> InsertAsync(SqliteStore store, IReadOnlyList<CreditTransactionRecord> movements) =>
        store.WriteAsync(async s =>
        {
            await s.Balances.InsertTransactionsAsync(movements);
            return true;
        });

    private static CreditTransactionRecord Movement(Tenant tenant, string id, string customer, string feature, MovementType type, long amount, DateTimeOffset at) =>
        new(tenant.AccountId, tenant.Livemode, id, customer, feature, "", type, amount, null, 0, null, null, at);

    private static List<string> NewestFirst(IEnumerable<CreditTransactionRecord> movements) =>
        movements.OrderByDescending(m => m.CreatedAt).ThenByDescending(m => m.Id, StringComparer.Ordinal).Select(m => m.Id).ToList();

    /// <summary>Every page of a customer's list, three at a time, through the cursor the API hands out.</summary>
    private static async Task<List<string>> ListAllAsync(SqliteStore store, Tenant tenant, string customer, string? feature)
    {
        var ids = new List<string>();
        Cursor? after = null;
        for (var page = 0; page < 1_000; page++)
        {
            var rows = await store.ReadAsync(s => s.Balances.ListTransactionsAsync(tenant, customer, feature, after, 3));
            ids.AddRange(rows.Select(r => r.Id));
            if (rows.Count < 3) return ids;
            after = new Cursor(Micros.From(rows[^1].CreatedAt), rows[^1].Id);
        }
        throw new InvalidOperationException("the list did not end");
    }

    [Fact]
    public async Task Every_customers_movements_are_listed_once_in_time_order_wherever_the_indexer_stands()
    {
        var path = _temp.File("credits.db");
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        // 48 customers, every bucket among them, so each pass moves some customers' entries and leaves others in runs.
        var customers = Enumerable.Range(0, 48).Select(i => $"cus_{i:D2}").ToList();
        Assert.Equal(IndexRuns.Buckets, customers.Select(IndexRuns.Bucket).Distinct().Count());
        var stored = new List<CreditTransactionRecord>();
        var random = new Random(18);
        await using var index = new SqliteConnection($"Data Source={store.IndexPath};Pooling=False;Mode=ReadOnly");
        await index.OpenAsync();
        var pending = 0;
        for (var round = 0; round < 45; round++)
        {
            // Times out of position order (a movement stored later may be dated earlier), two features, and another
            // tenant with the same customer ids, which no list of Acme's may show.
            var batch = Enumerable.Range(0, 30).Select(i => Movement(i == 29 ? Other : Acme, $"ctx_{round:D2}_{i}", customers[random.Next(customers.Count)],
                random.Next(2) == 0 ? "api" : "seats", MovementType.Consume, -1 - i, Hour.AddSeconds(random.Next(600)))).ToList();
            await InsertAsync(store, batch);
            stored.AddRange(batch);
            // The indexer runs in two rounds of three: both parts hold movements of the same customer in most lists.
            pending += batch.Count;
            if (round % 3 != 2)
            {
                Assert.Equal(pending, await IndexAsync(store));
                pending = 0;
            }

            // Each movement behind the watermark is in the customer order or in one listed run, never both.
            var (ordered, inRuns, both, unlisted, listed, watermark) = await index.QuerySingleAsync<(long, long, long, long, long, long)>("""
                SELECT (SELECT count(*) FROM credit_transaction_index), (SELECT count(*) FROM credit_transaction_runs),
                       (SELECT count(*) FROM credit_transaction_runs r JOIN credit_transaction_index i USING (account_id, livemode, customer_id, created_at, id)),
                       (SELECT count(*) FROM credit_transaction_runs WHERE run NOT IN (SELECT run FROM credit_transaction_run_list)),
                       (SELECT count(*) FROM credit_transaction_run_list), (SELECT watermark FROM credit_indexer WHERE id = 1)
                """);
            var behind = stored.Count - pending;
            Assert.Equal((behind, 0L, 0L, behind + 1L), (ordered + inRuns, both, unlisted, watermark));
            Assert.True(listed <= IndexRuns.Buckets - 1, $"{listed} runs listed");

            // A quarter of the customers each round, in turn (every customer every fourth round, both parts in most lists).
            foreach (var customer in customers.Where((_, i) => i % 4 == round % 4))
            {
                Assert.Equal(NewestFirst(stored.Where(m => m.AccountId == Acme.AccountId && m.CustomerId == customer)),
                    await ListAllAsync(store, Acme, customer, null));
                Assert.Equal(NewestFirst(stored.Where(m => m.AccountId == Acme.AccountId && m.CustomerId == customer && m.FeatureId == "seats")),
                    await ListAllAsync(store, Acme, customer, "seats"));
            }
        }
        // Across customers: the table itself, newest first.
        Assert.Equal(NewestFirst(stored.Where(m => m.AccountId == Acme.AccountId)).Take(50),
            (await store.ReadAsync(s => s.Balances.ListTransactionsAsync(Acme, null, null, null, 50))).Select(m => m.Id));
        // The last round's movements, left behind, indexed now: the lists are unchanged.
        Assert.Equal(30, await IndexAsync(store));
        foreach (var customer in customers)
            Assert.Equal(NewestFirst(stored.Where(m => m.AccountId == Acme.AccountId && m.CustomerId == customer)), await ListAllAsync(store, Acme, customer, null));
    }

    [Fact]
    public async Task A_pass_whose_read_another_pass_overtook_writes_nothing()
    {
        var path = _temp.File("overtaken.db");
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        await InsertAsync(store, 
            [Movement(Acme, "ctx_a", "cus_1", "api", MovementType.Grant, 10, Hour), Movement(Acme, "ctx_b", "cus_1", "api", MovementType.Consume, -4, Hour.AddMinutes(1))]);
        var first = await store.ReadAsync(s => s.Balances.ReadCreditTransactionsToIndexAsync(IndexCreditTransactions.PassMovementsMax));
        var second = await store.ReadAsync(s => s.Balances.ReadCreditTransactionsToIndexAsync(IndexCreditTransactions.PassMovementsMax));
        Assert.Equal((1L, 3L, 2), (first.Watermark, first.Upper, first.Keys.Count));
        Assert.Equal(2, await store.WriteEventIndexAsync(s => s.Balances.IndexCreditTransactionsAsync(first, Hour)));
        Assert.Equal(0, await store.WriteEventIndexAsync(s => s.Balances.IndexCreditTransactionsAsync(second, Hour)));
        Assert.Equal(0, await IndexAsync(store));
        Assert.Equal(["ctx_b", "ctx_a"], await ListAllAsync(store, Acme, "cus_1", null));
    }

    [Fact]
    public async Task An_index_file_ahead_of_the_database_is_emptied_at_start_and_the_lists_stay_whole()
    {
        var path = _temp.File("restored.db");
        var movements = Enumerable.Range(0, 4).Select(i => Movement(Acme, $"ctx_{i}", "cus_1", "api", MovementType.Consume, -1, Hour.AddMinutes(i))).ToList();
        await using (var store = new SqliteStore($"Data Source={path}", TimeProvider.System))
        {
            await store.MigrateAsync();
            await InsertAsync(store, movements);
            Assert.Equal(4, await IndexAsync(store));
        }
        SqliteConnection.ClearAllPools();
        // The main file as an older backup would have it: the last two movements gone, the index file kept.
        await using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await c.OpenAsync();
            await c.ExecuteAsync("DELETE FROM credit_transactions WHERE rowid > 2");
        }
        await using (var store = new SqliteStore($"Data Source={path}", TimeProvider.System))
        {
            await store.MigrateAsync();
            Assert.Equal(["ctx_1", "ctx_0"], await ListAllAsync(store, Acme, "cus_1", null));
            // Emptied: the indexer starts over at position 1, and a movement stored since is listed too.
            await InsertAsync(store, [Movement(Acme, "ctx_9", "cus_1", "api", MovementType.Consume, -1, Hour.AddMinutes(9))]);
            Assert.Equal(3, await IndexAsync(store));
            Assert.Equal(["ctx_9", "ctx_1", "ctx_0"], await ListAllAsync(store, Acme, "cus_1", null));
        }
    }

    [Fact]
    public async Task The_sum_of_a_customers_resets_reads_the_resets_own_index_whatever_the_indexer_has_done()
    {
        var path = _temp.File("resets.db");
        await using var store = new SqliteStore($"Data Source={path}", TimeProvider.System);
        await store.MigrateAsync();
        await InsertAsync(store, 
        [
            Movement(Acme, "ctx_1", "cus_1", "api", MovementType.Reset, 7, Hour.AddMinutes(1)),
            Movement(Acme, "ctx_2", "cus_1", "api", MovementType.Consume, -3, Hour.AddMinutes(2)),
            Movement(Acme, "ctx_3", "cus_1", "api", MovementType.Reset, 5, Hour.AddMinutes(3)),
            Movement(Acme, "ctx_4", "cus_1", "seats", MovementType.Reset, 2, Hour.AddMinutes(4)),
            Movement(Acme, "ctx_5", "cus_2", "api", MovementType.Reset, 100, Hour.AddMinutes(4)),
            // At the window's start: outside it (from < created_at).
            Movement(Acme, "ctx_6", "cus_1", "api", MovementType.Reset, 1_000, Hour),
        ]);
        var sums = await store.ReadAsync(s => s.Balances.ResetOverageAsync(Acme, "cus_1", ["api", "seats"], Hour, Hour.AddMinutes(3)));
        Assert.Equal(new Dictionary<string, long> { ["api"] = 12 }, sums);
        Assert.Equal(new Dictionary<string, long> { ["api"] = 12, ["seats"] = 2 },
            await store.ReadAsync(s => s.Balances.ResetOverageAsync(Acme, "cus_1", ["api", "seats"], Hour, Hour.AddMinutes(5))));
        // Through the partial index over resets, not a scan of the table.
        await using var c = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
        await c.OpenAsync();
        var plan = string.Join("\n", (await c.QueryAsync("""
            EXPLAIN QUERY PLAN SELECT feature_id, SUM(amount) FROM credit_transactions
            WHERE account_id = 'a' AND livemode = 0 AND customer_id = 'c' AND created_at > 0 AND created_at <= 1 AND type = 'reset' AND feature_id = 'f'
            GROUP BY feature_id
            """)).Select(row => (string)row.detail));
        Assert.Contains("credit_transactions_resets", plan);
    }
}
