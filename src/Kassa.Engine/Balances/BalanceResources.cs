using System.Text.Json.Serialization;
using Kassa.Core.Balances;

namespace Kassa.Engine.Balances;

/// <summary>
/// The balance object of spec §5: <c>used</c> is the period's whole usage (overage included),
/// <c>overage</c> the part of it past the grants, <c>remaining</c> what can still be taken from the
/// grants (granted − used − held, never below 0).
/// </summary>
public sealed record BalanceView(
    string FeatureId, decimal Granted, decimal Used, decimal Remaining, decimal Held, decimal Overage, bool Unlimited,
    DateTimeOffset? NextResetAt, OveragePolicy OveragePolicy);

/// <summary>The answer to <c>POST /v1/check</c>. A missing customer or feature is <c>allowed: false</c> with a code, never an error.</summary>
public sealed record CheckResponse(bool Allowed, string CustomerId, string FeatureId, string? Code, BalanceView? Balance, string? LockId);

/// <summary>The answer to <c>POST /v1/track</c>.</summary>
public sealed record TrackResponse(string Id, string CustomerId, string FeatureId, decimal Value, BalanceView? Balance);

public sealed record LockView(string Id, LockStatus Status, decimal Held, decimal Consumed)
{
    [JsonPropertyOrder(-1)] public string Object => "lock";
}

public sealed record FinalizeResponse(LockView Lock, BalanceView? Balance);

public static class CheckCodes
{
    public const string NoAccess = "no_access";
    public const string InsufficientBalance = "insufficient_balance";
    public const string SpendCapReached = "spend_cap_reached";
    public const string FeatureNotFound = "feature_not_found";
    public const string CustomerNotFound = "customer_not_found";
    /// <summary>The balance was granted by a subscription that is paused (spec §4.2): denied until it is resumed.</summary>
    public const string SubscriptionPaused = "subscription_paused";
}
