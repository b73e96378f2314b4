using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// One attempt of an auto top-up, keyed by its 10-minute window (<see cref="TopUps.AutoTopUpRules.WindowStart"/>):
/// inserting it is the claim a second node or a retry conflicts on. <c>Status</c> is <c>processing</c>
/// while its payment is in flight, then <c>succeeded</c> or <c>failed</c>.
/// </summary>
public sealed record AutoTopUpRun(
    string AccountId, bool Livemode, string CustomerId, string FeatureId, DateTimeOffset WindowStart, string Id, string Status,
    string? SubscriptionId, string? InvoiceId, string? PaymentId, string? FailureCode, DateTimeOffset CreatedAt, DateTimeOffset? SettledAt)
{
    public Tenant Tenant => new(AccountId, Livemode);
}

/// <summary>
/// Which settings a scan of due top-ups reads: enabled, armed, last attempted at or before
/// <paramref name="AttemptedBefore"/> (or never), of live customers on <paramref name="ClockId"/>'s test clock
/// (in <paramref name="ClockTenant"/>) or, when it is null, of customers on no test clock — in key order after
/// <paramref name="After"/>.
/// </summary>
public sealed record AutoTopUpScan(DateTimeOffset AttemptedBefore, TopUps.AutoTopUpRecord? After, Tenant? ClockTenant = null, string? ClockId = null);
