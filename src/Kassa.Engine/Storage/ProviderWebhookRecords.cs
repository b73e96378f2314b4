using Kassa.Core.Paging;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// One provider delivery Kassa applied (or only recorded). The key (tenant, provider, event id) is the
/// deduplication of the webhook pipeline: it is inserted in the same transaction as the effect.
/// </summary>
public sealed record ProviderEventRecord(
    string AccountId, bool Livemode, string Provider, string EventId, string Type, string? Effect, string Outcome, DateTimeOffset ReceivedAt);

/// <summary>A dispute (chargeback) of a payment, opened and moved by provider events.</summary>
public sealed record DisputeRecord(
    string AccountId, bool Livemode, string Id, string PaymentId, string CustomerId, long Amount, string Currency, string Reason, string Status,
    string Provider, string ProviderDisputeId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ClosedAt);

public interface IProviderEventStore
{
    /// <summary>
    /// Inserts the dedupe row unless the event is known; false when it was. On PostgreSQL a concurrent
    /// insert of the same key waits for the other transaction and then reports the duplicate.
    /// </summary>
    Task<bool> TryInsertAsync(ProviderEventRecord record);
    Task SetOutcomeAsync(Tenant tenant, string provider, string eventId, string outcome);
    Task<ProviderEventRecord?> GetAsync(Tenant tenant, string provider, string eventId);
    /// <summary>The payment of this provider whose charge has this provider id, if any.</summary>
    Task<string?> PaymentIdByChargeAsync(Tenant tenant, string provider, string providerChargeId);
    /// <summary>The refund recorded with this provider refund id, if any.</summary>
    Task<string?> RefundIdByProviderRefundAsync(Tenant tenant, string providerRefundId);
    /// <summary>Attached (not detached) methods of this provider with this token, of one customer or any, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> AttachedMethodIdsByTokenAsync(Tenant tenant, string provider, string token, string? customerId, int limit);
}

public interface IDisputeStore
{
    Task InsertAsync(DisputeRecord dispute);
    /// <summary>Rewrites status, updated_at and closed_at (the only things that change).</summary>
    Task UpdateAsync(DisputeRecord dispute);
    Task<DisputeRecord?> GetAsync(Tenant tenant, string id);
    /// <summary>With <paramref name="forUpdate"/> locked on PostgreSQL until the transaction ends.</summary>
    Task<DisputeRecord?> FindByProviderIdAsync(Tenant tenant, string provider, string providerDisputeId, bool forUpdate);
    /// <summary>Newest first, optionally of one payment, after the cursor, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<DisputeRecord>> ListAsync(Tenant tenant, string? paymentId, Cursor? after, int limit);
    /// <summary>Per payment, the id of its newest dispute (payments without one are absent).</summary>
    Task<IReadOnlyDictionary<string, string>> LatestOfPaymentsAsync(Tenant tenant, IReadOnlyCollection<string> paymentIds);
}
