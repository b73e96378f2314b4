using System.Data.Common;
using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Engine.TopUps;

namespace Kassa.Storage;

internal sealed class SqlTopUps(SqlSession s) : ITopUpStore
{
    private const string Columns = "account_id, livemode, customer_id, feature_id, threshold, quantity, product_id, enabled, created_at, updated_at, "
        + "armed, last_attempt_at, last_failure_code, last_invoice_id, last_payment_id";

    private const string RunColumns = "account_id, livemode, customer_id, feature_id, window_start, id, status, subscription_id, invoice_id, payment_id, "
        + "failure_code, created_at, settled_at";

    private const string Key = "account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND feature_id = @featureId";

    public async Task<AutoTopUpRecord?> GetAsync(Tenant tenant, string customerId, string featureId) =>
        (await Read($"SELECT {Columns} FROM auto_top_ups WHERE {Key}", new { tenant.AccountId, tenant.Livemode, customerId, featureId })).FirstOrDefault();

    public async Task<AutoTopUpRecord?> GetForUpdateAsync(Tenant tenant, string customerId, string featureId) =>
        (await Read($"SELECT {Columns} FROM auto_top_ups WHERE {Key}{s.Dialect.ForUpdate}", new { tenant.AccountId, tenant.Livemode, customerId, featureId }))
        .FirstOrDefault();

    public Task UpsertAsync(AutoTopUpRecord t) =>
        // Setting the settings again re-arms them (a failed attempt disarmed them); the last attempt is kept.
        s.Connection.ExecuteAsync($"""
            INSERT INTO auto_top_ups ({Columns})
            VALUES (@AccountId, @Livemode, @CustomerId, @FeatureId, @Threshold, @Quantity, @ProductId, @Enabled, @created, @updated, @Armed, @attempted,
              @LastFailureCode, @LastInvoiceId, @LastPaymentId)
            ON CONFLICT (account_id, livemode, customer_id, feature_id) DO UPDATE SET threshold = excluded.threshold, quantity = excluded.quantity,
                product_id = excluded.product_id, enabled = excluded.enabled, updated_at = excluded.updated_at, armed = excluded.armed
            """, Args(t), s.Transaction);

    public Task UpdateStateAsync(AutoTopUpRecord t) =>
        s.Connection.ExecuteAsync("""
            UPDATE auto_top_ups SET armed = @Armed, last_attempt_at = @attempted, last_failure_code = @LastFailureCode, last_invoice_id = @LastInvoiceId,
              last_payment_id = @LastPaymentId
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @CustomerId AND feature_id = @FeatureId
            """, Args(t), s.Transaction);

    public Task<int> RearmAsync(Tenant tenant, string customerId, DateTimeOffset now) =>
        s.Connection.ExecuteAsync($"""
            UPDATE auto_top_ups SET armed = @yes
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND {s.Dialect.IsFalse("armed")}
            """, new { tenant.AccountId, tenant.Livemode, customerId, yes = true }, s.Transaction);

    public Task<IReadOnlyList<AutoTopUpRecord>> DueAsync(AutoTopUpScan scan, int limit)
    {
        var clock = scan.ClockId is null
            ? "c.test_clock_id IS NULL"
            : "t.account_id = @clockAccount AND t.livemode = @clockLivemode AND c.test_clock_id = @clockId";
        var after = scan.After is null ? "" : "AND (t.account_id, t.livemode, t.customer_id, t.feature_id) > (@afterAccount, @afterLivemode, @afterCustomer, @afterFeature)";
        var columns = string.Join(", ", Columns.Split(", ").Select(c => "t." + c));
        return Read($"""
            SELECT {columns} FROM auto_top_ups t
            JOIN customers c ON c.account_id = t.account_id AND c.livemode = t.livemode AND c.id = t.customer_id
            WHERE {s.Dialect.IsTrue("t.enabled")} AND {s.Dialect.IsTrue("t.armed")} AND (t.last_attempt_at IS NULL OR t.last_attempt_at <= @cutoff)
              AND c.deleted_at IS NULL AND {clock} {after}
            ORDER BY t.account_id, t.livemode, t.customer_id, t.feature_id
            LIMIT @limit
            """, new
        {
            cutoff = Micros.From(scan.AttemptedBefore), clockAccount = scan.ClockTenant?.AccountId, clockLivemode = scan.ClockTenant?.Livemode ?? false, clockId = scan.ClockId,
            afterAccount = scan.After?.AccountId, afterLivemode = scan.After?.Livemode ?? false, afterCustomer = scan.After?.CustomerId,
            afterFeature = scan.After?.FeatureId, limit,
        });
    }

    public async Task<bool> InsertRunAsync(AutoTopUpRun r) =>
        await s.Connection.ExecuteAsync($"""
            INSERT INTO auto_top_up_runs ({RunColumns})
            VALUES (@AccountId, @Livemode, @CustomerId, @FeatureId, @window, @Id, @Status, @SubscriptionId, @InvoiceId, @PaymentId, @FailureCode, @created, @settled)
            ON CONFLICT (account_id, livemode, customer_id, feature_id, window_start) DO NOTHING
            """, RunArgs(r), s.Transaction) == 1;

    public Task UpdateRunAsync(AutoTopUpRun r) =>
        s.Connection.ExecuteAsync("""
            UPDATE auto_top_up_runs SET status = @Status, subscription_id = @SubscriptionId, invoice_id = @InvoiceId, payment_id = @PaymentId,
              failure_code = @FailureCode, settled_at = @settled
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @CustomerId AND feature_id = @FeatureId AND window_start = @window
            """, RunArgs(r), s.Transaction);

    public async Task<AutoTopUpRun?> GetRunAsync(Tenant tenant, string customerId, string featureId, DateTimeOffset windowStart, bool forUpdate) =>
        (await Runs($"SELECT {RunColumns} FROM auto_top_up_runs WHERE {Key} AND window_start = @window{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, customerId, featureId, window = Micros.From(windowStart) })).FirstOrDefault();

    public Task<IReadOnlyList<AutoTopUpRun>> ProcessingRunsAsync(AutoTopUpRun? after, int limit) =>
        Runs($"""
            SELECT {RunColumns} FROM auto_top_up_runs
            WHERE status = 'processing' {(after is null ? "" : "AND (created_at, id) > (@created, @id)")}
            ORDER BY created_at, id LIMIT @limit
            """, new { created = after is null ? 0 : Micros.From(after.CreatedAt), id = after?.Id, limit });

    private static object Args(AutoTopUpRecord t) => new
    {
        t.AccountId, t.Livemode, t.CustomerId, t.FeatureId, t.Threshold, t.Quantity, t.ProductId, t.Enabled, t.Armed, t.LastFailureCode, t.LastInvoiceId,
        t.LastPaymentId, created = Micros.From(t.CreatedAt), updated = Micros.From(t.UpdatedAt),
        attempted = t.LastAttemptAt is { } a ? Micros.From(a) : (long?)null,
    };

    private static object RunArgs(AutoTopUpRun r) => new
    {
        r.AccountId, r.Livemode, r.CustomerId, r.FeatureId, window = Micros.From(r.WindowStart), r.Id, r.Status, r.SubscriptionId, r.InvoiceId, r.PaymentId,
        r.FailureCode, created = Micros.From(r.CreatedAt), settled = r.SettledAt is { } at ? Micros.From(at) : (long?)null,
    };

    private async Task<IReadOnlyList<AutoTopUpRecord>> Read(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<AutoTopUpRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new AutoTopUpRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetInt64(5), r.GetString(6),
                r.GetBoolean(7), Micros.To(r.GetInt64(8)), Micros.To(r.GetInt64(9)), r.GetBoolean(10), Time(r, 11), Str(r, 12), Str(r, 13), Str(r, 14)));
        }
        return list;
    }

    private async Task<IReadOnlyList<AutoTopUpRun>> Runs(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<AutoTopUpRun>();
        while (await r.ReadAsync())
        {
            list.Add(new AutoTopUpRun(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), Micros.To(r.GetInt64(4)), r.GetString(5), r.GetString(6),
                Str(r, 7), Str(r, 8), Str(r, 9), Str(r, 10), Micros.To(r.GetInt64(11)), Time(r, 12)));
        }
        return list;
    }

    private static string? Str(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? Time(DbDataReader r, int i) => r.IsDBNull(i) ? null : Micros.To(r.GetInt64(i));
}
