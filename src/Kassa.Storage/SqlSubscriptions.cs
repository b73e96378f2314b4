using System.Data.Common;
using System.Text.Json;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Core.Periods;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlSubscriptions(SqlSession s) : ISubscriptionStore
{
    private const string Columns = "account_id, livemode, id, customer_id, product_id, product_version, status, quantity, current_period_start, " +
        "current_period_end, trial_end, cancel_at_period_end, canceled_at, paused, scheduled_product_id, created_at, billing_anchor, billing_interval, " +
        "interval_count, currency, cancel_reason, ended_at, usage_billed_through, latest_invoice_id, updated_at, scheduled_quantity, test_clock_id, migrate_to_version, " +
        "one_time, prepaid, scheduled_prepaid";

    public Task InsertAsync(SubscriptionSummary sub, Tenant tenant, string customerId, long quantity, DateTimeOffset now) =>
        s.Connection.ExecuteAsync("""
            INSERT INTO subscriptions (account_id, livemode, id, customer_id, product_id, product_version, status, quantity, current_period_start,
                current_period_end, trial_end, cancel_at_period_end, canceled_at, paused, scheduled_product_id, created_at)
            VALUES (@AccountId, @Livemode, @id, @customerId, @productId, @version, @status, @quantity, @now, NULL, NULL, @no, NULL, @no, @scheduled, @now)
            """, new { tenant.AccountId, tenant.Livemode, id = sub.Id, customerId, productId = sub.ProductId, version = sub.ProductVersion, status = sub.Status,
                quantity, now = Micros.From(now), no = false, scheduled = sub.ScheduledProductId }, s.Transaction);

    public Task InsertAsync(SubscriptionRecord r) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO subscriptions ({Columns}) VALUES (@AccountId, @Livemode, @Id, @CustomerId, @ProductId, @ProductVersion, @Status, @Quantity,
              @periodStart, @periodEnd, @trialEnd, @CancelAtPeriodEnd, @canceledAt, @Paused, @ScheduledProductId, @createdAt, @anchor, @interval,
              @IntervalCount, @Currency, @CancelReason, @endedAt, @billedThrough, @LatestInvoiceId, @updatedAt, @ScheduledQuantity, @TestClockId, @MigrateToVersion,
              @OneTime, @prepaid, @scheduledPrepaid)
            """, Args(r), s.Transaction);

    public async Task<SubscriptionRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false) =>
        (await Query($"SELECT {Columns} FROM subscriptions WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault();

    public Task UpdateAsync(SubscriptionRecord r) =>
        s.Connection.ExecuteAsync("""
            UPDATE subscriptions SET product_id = @ProductId, product_version = @ProductVersion, status = @Status, quantity = @Quantity,
              current_period_start = @periodStart, current_period_end = @periodEnd, trial_end = @trialEnd, cancel_at_period_end = @CancelAtPeriodEnd,
              canceled_at = @canceledAt, paused = @Paused, scheduled_product_id = @ScheduledProductId, billing_anchor = @anchor,
              billing_interval = @interval, interval_count = @IntervalCount, currency = @Currency, cancel_reason = @CancelReason, ended_at = @endedAt,
              usage_billed_through = @billedThrough, latest_invoice_id = @LatestInvoiceId, updated_at = @updatedAt,
              scheduled_quantity = @ScheduledQuantity, prepaid = @prepaid, scheduled_prepaid = @scheduledPrepaid
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, Args(r), s.Transaction);

    public Task<IReadOnlyList<SubscriptionRecord>> ListAsync(Tenant tenant, SubscriptionFilter f, Cursor? after, int limit) =>
        Query($"""
            SELECT {Columns} FROM subscriptions
            WHERE account_id = @AccountId AND livemode = @Livemode
              AND (@customerId IS NULL OR customer_id = @customerId)
              AND (@status IS NULL OR status = @status)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId = f.CustomerId, status = f.Status, hasCursor = after is null ? 0 : 1,
                afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public async Task<IReadOnlyList<(Tenant Tenant, string Id)>> DueForRenewalAsync(DateTimeOffset now, int limit)
    {
        // The partial index subscriptions_due holds exactly these rows, ordered by period end (its condition
        // is written out literally so the planner can see the index applies).
        await using var r = await s.Connection.ExecuteReaderAsync($"""
            SELECT account_id, livemode, id FROM subscriptions
            WHERE status IN ('active', 'trialing', 'past_due') AND {s.Dialect.IsFalse("paused")} AND test_clock_id IS NULL AND current_period_end <= @now
            ORDER BY current_period_end LIMIT @limit
            """, new { now = Micros.From(now), limit }, s.Transaction);
        var list = new List<(Tenant, string)>();
        while (await r.ReadAsync()) list.Add((new Tenant(r.GetString(0), r.GetBoolean(1)), r.GetString(2)));
        return list;
    }

    public async Task<IReadOnlyList<(Tenant Tenant, string Id)>> IncompleteBeforeAsync(DateTimeOffset before, int limit)
    {
        // The partial index subscriptions_incomplete holds exactly these rows.
        await using var r = await s.Connection.ExecuteReaderAsync("""
            SELECT account_id, livemode, id FROM subscriptions
            WHERE status = 'incomplete' AND test_clock_id IS NULL AND created_at < @before
            ORDER BY created_at LIMIT @limit
            """, new { before = Micros.From(before), limit }, s.Transaction);
        var list = new List<(Tenant, string)>();
        while (await r.ReadAsync()) list.Add((new Tenant(r.GetString(0), r.GetBoolean(1)), r.GetString(2)));
        return list;
    }

    public async Task<DateTimeOffset?> NextDueOnClockAsync(Tenant tenant, string clockId, DateTimeOffset to)
    {
        var next = await s.Connection.ExecuteScalarAsync<long?>($"""
            SELECT MIN(due) FROM (
              SELECT MIN(current_period_end) AS due FROM subscriptions
              WHERE account_id = @AccountId AND livemode = @Livemode AND test_clock_id = @clockId
                AND status IN ('active', 'trialing', 'past_due') AND {s.Dialect.IsFalse("paused")} AND current_period_end <= @to
              UNION ALL
              SELECT MIN(i.next_attempt_at) AS due FROM invoices i
              JOIN subscriptions c ON c.account_id = i.account_id AND c.livemode = i.livemode AND c.id = i.subscription_id
              WHERE i.account_id = @AccountId AND i.livemode = @Livemode AND c.test_clock_id = @clockId
                AND i.status = 'open' AND i.next_attempt_at IS NOT NULL AND i.next_attempt_at <= @to
            ) d
            """, new { tenant.AccountId, tenant.Livemode, clockId, no = false, to = Micros.From(to) }, s.Transaction);
        return next is { } micros ? Micros.To(micros) : null;
    }

    public async Task<(IReadOnlyList<string> Subscriptions, IReadOnlyList<string> Retries)> DueOnClockAsync(Tenant tenant, string clockId, DateTimeOffset now, int limit)
    {
        var args = new { tenant.AccountId, tenant.Livemode, clockId, no = false, now = Micros.From(now), limit };
        var subs = (await s.Connection.QueryAsync<string>($"""
            SELECT id FROM subscriptions
            WHERE account_id = @AccountId AND livemode = @Livemode AND test_clock_id = @clockId
              AND status IN ('active', 'trialing', 'past_due') AND {s.Dialect.IsFalse("paused")} AND current_period_end <= @now
            ORDER BY current_period_end, id LIMIT @limit
            """, args, s.Transaction)).ToList();
        var retries = (await s.Connection.QueryAsync<string>("""
            SELECT i.id FROM invoices i
            JOIN subscriptions c ON c.account_id = i.account_id AND c.livemode = i.livemode AND c.id = i.subscription_id
            WHERE i.account_id = @AccountId AND i.livemode = @Livemode AND c.test_clock_id = @clockId
              AND i.status = 'open' AND i.next_attempt_at IS NOT NULL AND i.next_attempt_at <= @now
            ORDER BY i.next_attempt_at, i.id LIMIT @limit
            """, args, s.Transaction)).ToList();
        return (subs, retries);
    }

    public Task<int> ScheduleMigrationAsync(Tenant tenant, string productId, int fromVersion, int toVersion) =>
        // One statement however many subscribers the version has (the subscriptions_by_product index finds
        // them); a renewal holding a row's lock makes it wait, and it then re-reads that row's version.
        s.Connection.ExecuteAsync("""
            UPDATE subscriptions SET migrate_to_version = @toVersion
            WHERE account_id = @AccountId AND livemode = @Livemode AND product_id = @productId AND product_version = @fromVersion
              AND status IN ('active', 'trialing', 'past_due', 'incomplete')
              AND (migrate_to_version IS NULL OR migrate_to_version < @toVersion)
            """, new { tenant.AccountId, tenant.Livemode, productId, fromVersion, toVersion }, s.Transaction);

    public Task<int> SuspendBalancesAsync(Tenant tenant, string customerId, string subscriptionId, bool suspended) =>
        // The customer's rows are keyed by (account, mode, customer, …), so this touches one customer's balances.
        s.Connection.ExecuteAsync("""
            UPDATE feature_balances SET suspended = @suspended
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId AND subscription_id = @subscriptionId
            """, new { tenant.AccountId, tenant.Livemode, customerId, subscriptionId, suspended }, s.Transaction);

    private static object Args(SubscriptionRecord r) => new
    {
        r.AccountId, r.Livemode, r.Id, r.CustomerId, r.ProductId, r.ProductVersion, r.Status, r.Quantity,
        periodStart = Opt(r.CurrentPeriodStart), periodEnd = Opt(r.CurrentPeriodEnd), trialEnd = Opt(r.TrialEnd), r.CancelAtPeriodEnd,
        canceledAt = Opt(r.CanceledAt), r.Paused, r.ScheduledProductId, createdAt = Micros.From(r.CreatedAt), anchor = Opt(r.BillingAnchor),
        interval = Periods.Name(r.Interval), r.IntervalCount, r.Currency, r.CancelReason, endedAt = Opt(r.EndedAt),
        billedThrough = Opt(r.UsageBilledThrough), r.LatestInvoiceId, updatedAt = Opt(r.UpdatedAt), r.ScheduledQuantity, r.TestClockId, r.MigrateToVersion,
        r.OneTime, prepaid = Quantities(r.Prepaid), scheduledPrepaid = Quantities(r.ScheduledPrepaid),
    };

    /// <summary>Prepaid quantities as the JSON object stored in the row, ordered by feature id so equal maps store equal text.</summary>
    private static string? Quantities(IReadOnlyDictionary<string, long>? map) =>
        map is null ? null : JsonSerializer.Serialize(new SortedDictionary<string, long>(map.ToDictionary(), StringComparer.Ordinal), KassaJson.Options);

    private static IReadOnlyDictionary<string, long>? Quantities(DbDataReader r, int i) =>
        r.IsDBNull(i) ? null : JsonSerializer.Deserialize<Dictionary<string, long>>(r.GetString(i), KassaJson.Options);

    private static long? Opt(DateTimeOffset? t) => t is { } v ? Micros.From(v) : null;

    private static DateTimeOffset? Time(DbDataReader r, int i) => r.IsDBNull(i) ? null : Micros.To(r.GetInt64(i));

    private static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private async Task<IReadOnlyList<SubscriptionRecord>> Query(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<SubscriptionRecord>();
        while (await r.ReadAsync())
        {
            Periods.TryParse(r.GetString(17), out var interval);
            list.Add(new SubscriptionRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt32(5), r.GetString(6),
                r.GetInt64(7), Time(r, 8), Time(r, 9), Time(r, 10), r.GetBoolean(11), Time(r, 12), r.GetBoolean(13), Text(r, 14), Micros.To(r.GetInt64(15)),
                Time(r, 16), interval, r.GetInt32(18), Text(r, 19), Text(r, 20), Time(r, 21), Time(r, 22), Text(r, 23), Time(r, 24),
                r.IsDBNull(25) ? null : r.GetInt64(25), Text(r, 26), r.IsDBNull(27) ? null : r.GetInt32(27), r.GetBoolean(28), Quantities(r, 29), Quantities(r, 30)));
        }
        return list;
    }
}
