using Kassa.Core.Payments;

namespace Kassa.Engine.Payments;

/// <summary>A card as a client sends it to be saved; never stored by Kassa, only handed to the provider.</summary>
public sealed record CardInput(string? Number, int? ExpMonth, int? ExpYear, string? Cvc);

/// <summary>A saved method (<c>MethodToken</c>, the provider's reference) or why the provider refused it.</summary>
public sealed record AttachResult(string? MethodToken, CardSummary? Card, string? FailureCode, string? FailureMessage)
{
    public bool Attached => MethodToken is not null;
}

public enum ChargeStatus
{
    Succeeded,
    Failed,
    /// <summary>The customer must act (3-D Secure) before the charge can complete.</summary>
    RequiresAction,
}

public sealed record ChargeResult(ChargeStatus Status, string ProviderChargeId, string? FailureCode, string? FailureMessage);

public sealed record RefundResult(bool Succeeded, string ProviderRefundId, string? FailureCode);

/// <summary>
/// A payment provider behind one interface (spec §8): the built-in sandbox, Stripe later. Every call
/// that moves money takes an idempotency key — Kassa's own payment-attempt id, stored and committed
/// before the call (design §6) — and the provider answers a repeated key with the first outcome, so a
/// crash or a timeout between the call and its record never charges or refunds twice.
/// </summary>
public interface IPaymentProvider
{
    /// <summary>The provider's name as the API shows it (<c>sandbox</c>, <c>stripe</c>).</summary>
    string Name { get; }

    Task<AttachResult> AttachCardAsync(string customerId, CardInput card, DateTimeOffset now, CancellationToken ct);

    Task<ChargeResult> ChargeAsync(string methodToken, long amountMinor, string currency, string idempotencyKey, CancellationToken ct);

    Task<RefundResult> RefundAsync(string providerChargeId, long amountMinor, string currency, string idempotencyKey, CancellationToken ct);
}
