using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>A subscription as the API shows it (spec §4).</summary>
public sealed record SubscriptionResource(
    string Id, string CustomerId, string ProductId, int ProductVersion, string Status, long Quantity, string? Currency,
    DateTimeOffset? CurrentPeriodStart, DateTimeOffset? CurrentPeriodEnd, DateTimeOffset? TrialEnd, bool CancelAtPeriodEnd,
    DateTimeOffset? CanceledAt, string? CancelReason, DateTimeOffset? EndedAt, bool Paused, string? ScheduledProductId, string? LatestInvoiceId,
    DateTimeOffset CreatedAt, bool Livemode, bool OneTime, IReadOnlyDictionary<string, long>? Prepaid)
{
    [JsonPropertyOrder(-1)] public string Object => "subscription";

    public static SubscriptionResource From(SubscriptionRecord r) =>
        new(r.Id, r.CustomerId, r.ProductId, r.ProductVersion, r.Status, r.Quantity, r.Currency, r.CurrentPeriodStart, r.CurrentPeriodEnd, r.TrialEnd,
            r.CancelAtPeriodEnd, r.CanceledAt, r.CancelReason, r.EndedAt, r.Paused, r.ScheduledProductId, r.LatestInvoiceId, r.CreatedAt, r.Livemode,
            r.OneTime, r.Prepaid);
}

/// <summary>The subscription statuses (spec §4) and the ones that still grant and bill.</summary>
public static class SubscriptionStatus
{
    public const string Incomplete = "incomplete";
    public const string Trialing = "trialing";
    public const string Active = "active";
    public const string PastDue = "past_due";
    public const string Canceled = "canceled";
    public const string Scheduled = "scheduled";
    public const string Expired = "expired";

    public static readonly IReadOnlyList<string> All = [Incomplete, Trialing, Active, PastDue, Canceled, Scheduled, Expired];

    /// <summary>Statuses a renewal runs for.</summary>
    public static bool Renews(string status) => status is Trialing or Active or PastDue;
}
