using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlClockBalances(SqlSession s) : IClockBalanceStore
{
    // What falls due for the clock's customers, one row per due thing: the same three conditions the
    // real-time maintenance worker looks for (held locks past expiry, periods past their reset, bucket
    // expiries not yet recorded), limited to customers on the clock.
    private string Due => $"""
        SELECT c.id AS customer_id, l.expires_at AS due FROM customers c
        JOIN locks l ON l.account_id = c.account_id AND l.livemode = c.livemode AND l.customer_id = c.id AND l.status = 'held'
        WHERE c.account_id = @AccountId AND c.livemode = @Livemode AND c.test_clock_id = @clockId AND l.expires_at > @after AND l.expires_at <= @to
        UNION ALL
        SELECT c.id, b.next_reset_at FROM customers c
        JOIN feature_balances b ON b.account_id = c.account_id AND b.livemode = c.livemode AND b.customer_id = c.id
        WHERE c.account_id = @AccountId AND c.livemode = @Livemode AND c.test_clock_id = @clockId AND b.next_reset_at > @after AND b.next_reset_at <= @to
        UNION ALL
        SELECT c.id, k.expires_at FROM customers c
        JOIN balance_buckets k ON k.account_id = c.account_id AND k.livemode = c.livemode AND k.customer_id = c.id
        WHERE c.account_id = @AccountId AND c.livemode = @Livemode AND c.test_clock_id = @clockId AND {s.Dialect.IsFalse("k.expiry_recorded")} AND {s.Dialect.IsFalse("k.voided")}
          AND k.expires_at > @after AND k.expires_at <= @to
        """;

    public async Task<DateTimeOffset?> NextBalanceDueOnClockAsync(Tenant tenant, string clockId, DateTimeOffset? after, DateTimeOffset to)
    {
        var next = await s.Connection.ExecuteScalarAsync<long?>($"SELECT MIN(due) FROM ({Due}) d",
            Args(tenant, clockId, after, to), s.Transaction);
        return next is { } micros ? Micros.To(micros) : null;
    }

    public async Task<IReadOnlyList<string>> CustomersWithBalancesDueOnClockAsync(Tenant tenant, string clockId, DateTimeOffset? after, DateTimeOffset at, int limit)
    {
        var args = new DynamicParameters(Args(tenant, clockId, after, at));
        args.Add("limit", limit);
        return [.. await s.Connection.QueryAsync<string>($"SELECT DISTINCT customer_id FROM ({Due}) d ORDER BY customer_id LIMIT @limit", args, s.Transaction)];
    }

    private static object Args(Tenant tenant, string clockId, DateTimeOffset? after, DateTimeOffset to) =>
        new { tenant.AccountId, tenant.Livemode, clockId, no = false, after = after is { } a ? Micros.From(a) : long.MinValue, to = Micros.From(to) };
}
