using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Disputes;

/// <summary>
/// A dispute (chargeback) of a payment (issue 13): opened and moved only by provider events (in test
/// mode also through <c>POST /v1/test_helpers/payments/{id}/dispute</c>, which sends a sandbox event).
/// </summary>
public sealed record DisputeResource(
    string Id, string PaymentId, string CustomerId, long Amount, string Currency, string Reason, string Status, string Provider, string ProviderDisputeId,
    DateTimeOffset CreatedAt, DateTimeOffset? ClosedAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "dispute";

    public static DisputeResource From(DisputeRecord d) =>
        new(d.Id, d.PaymentId, d.CustomerId, d.Amount, d.Currency, d.Reason, d.Status, d.Provider, d.ProviderDisputeId, d.CreatedAt, d.ClosedAt, d.Livemode);
}

/// <summary>A dispute's statuses: open ones may move between each other; <c>won</c> and <c>lost</c> are final.</summary>
public static class DisputeStatuses
{
    public const string NeedsResponse = "needs_response";
    public const string UnderReview = "under_review";
    public const string Won = "won";
    public const string Lost = "lost";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { NeedsResponse, UnderReview, Won, Lost };

    public static bool IsClosed(string status) => status is Won or Lost;
}
