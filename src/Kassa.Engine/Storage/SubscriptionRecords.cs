using Kassa.Core.Paging;
using Kassa.Core.Periods;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// A subscription row (spec §4). Billing periods are anniversary periods of <see cref="BillingAnchor"/>
/// in <see cref="Interval"/> × <see cref="IntervalCount"/>; <see cref="UsageBilledThrough"/> is the cut
/// up to which billed overage has been invoiced. <see cref="MigrateToVersion"/>, when above
/// <see cref="ProductVersion"/>, is the product version the next renewal moves the subscription to
/// (<c>POST /v1/products/{id}/migrate</c>); it is written only by
/// <see cref="ISubscriptionStore.ScheduleMigrationAsync"/>, never by <see cref="ISubscriptionStore.UpdateAsync"/>.
/// <see cref="OneTime"/> marks a one-time purchase (it never
/// renews); <see cref="Prepaid"/> holds the prepaid usage quantities bought per feature, and
/// <see cref="ScheduledPrepaid"/> lowered ones that take effect at the next renewal.
/// </summary>
public sealed record SubscriptionRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string ProductId, int ProductVersion, string Status, long Quantity,
    DateTimeOffset? CurrentPeriodStart, DateTimeOffset? CurrentPeriodEnd, DateTimeOffset? TrialEnd, bool CancelAtPeriodEnd,
    DateTimeOffset? CanceledAt, bool Paused, string? ScheduledProductId, DateTimeOffset CreatedAt,
    DateTimeOffset? BillingAnchor, Interval Interval, int IntervalCount, string? Currency, string? CancelReason, DateTimeOffset? EndedAt,
    DateTimeOffset? UsageBilledThrough, string? LatestInvoiceId, DateTimeOffset? UpdatedAt, long? ScheduledQuantity = null, string? TestClockId = null,
    int? MigrateToVersion = null, bool OneTime = false, IReadOnlyDictionary<string, long>? Prepaid = null,
    IReadOnlyDictionary<string, long>? ScheduledPrepaid = null);

public sealed record SubscriptionFilter(string? CustomerId, string? Status);

public interface ISubscriptionStore
{
    Task InsertAsync(SubscriptionSummary subscription, Tenant tenant, string customerId, long quantity, DateTimeOffset now);
    Task InsertAsync(SubscriptionRecord subscription);
    /// <summary>A subscription; with <paramref name="forUpdate"/> locked on PostgreSQL until the transaction ends.</summary>
    Task<SubscriptionRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false);
    Task UpdateAsync(SubscriptionRecord subscription);
    Task<IReadOnlyList<SubscriptionRecord>> ListAsync(Tenant tenant, SubscriptionFilter filter, Cursor? after, int limit);
    /// <summary>Live, unpaused subscriptions whose period ended at or before <paramref name="now"/>, oldest end first (the renewal worker's input, bounded).</summary>
    Task<IReadOnlyList<(Tenant Tenant, string Id)>> DueForRenewalAsync(DateTimeOffset now, int limit);
    /// <summary>Incomplete subscriptions made before <paramref name="before"/>, oldest first (bounded; test clocks' excluded).</summary>
    Task<IReadOnlyList<(Tenant Tenant, string Id)>> IncompleteBeforeAsync(DateTimeOffset before, int limit);
    /// <summary>
    /// The earliest moment at or before <paramref name="to"/> when something of a test clock's customers is
    /// due: a live subscription's period end, or an open invoice's dunning retry; null when nothing is.
    /// </summary>
    Task<DateTimeOffset?> NextDueOnClockAsync(Tenant tenant, string clockId, DateTimeOffset to);
    /// <summary>A test clock's live subscriptions due at <paramref name="now"/>, and its open invoices whose retry is due (bounded).</summary>
    Task<(IReadOnlyList<string> Subscriptions, IReadOnlyList<string> Retries)> DueOnClockAsync(Tenant tenant, string clockId, DateTimeOffset now, int limit);
    /// <summary>
    /// In one statement: marks every running (<c>active</c>, <c>trialing</c>, <c>past_due</c>,
    /// <c>incomplete</c>) subscription of the product on <paramref name="fromVersion"/> to move to
    /// <paramref name="toVersion"/> at its next renewal, skipping those already marked for it or later;
    /// returns how many it marked. On PostgreSQL each marked row is locked until the transaction ends.
    /// </summary>
    Task<int> ScheduleMigrationAsync(Tenant tenant, string productId, int fromVersion, int toVersion);

    /// <summary>Marks the balances a subscription granted suspended (paused) or not; returns how many rows changed.</summary>
    Task<int> SuspendBalancesAsync(Tenant tenant, string customerId, string subscriptionId, bool suspended);
}

/// <summary>A test clock (spec §11): the frozen time its customers live in.</summary>
public sealed record TestClockRecord(string AccountId, bool Livemode, string Id, string? Name, DateTimeOffset FrozenTime, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset? DeletedAt);

public interface ITestClockStore
{
    Task InsertAsync(TestClockRecord clock);
    Task<TestClockRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false);
    Task UpdateAsync(TestClockRecord clock);
    Task<IReadOnlyList<TestClockRecord>> ListAsync(Tenant tenant, Cursor? after, int limit);
    /// <summary>Whether the tenant has any test clock that is not deleted.</summary>
    Task<bool> AnyAsync(Tenant tenant);
}
