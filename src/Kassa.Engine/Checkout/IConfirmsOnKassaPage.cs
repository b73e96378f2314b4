using Kassa.Engine.Payments;

namespace Kassa.Engine.Checkout;

/// <summary>
/// A provider whose 3-D Secure step Kassa's own checkout page shows (the sandbox): a charge that
/// answered <see cref="ChargeStatus.RequiresAction"/> is confirmed or refused there by the customer,
/// and the provider is told the answer. Optional, beside <see cref="IPaymentProvider"/>: a provider
/// that runs its own authentication page (Stripe) does not implement it.
/// </summary>
public interface IConfirmsOnKassaPage
{
    /// <summary>
    /// The customer's answer to the bank's question for the attempt <paramref name="idempotencyKey"/> (Kassa's
    /// payment id, the same key as the charge): <paramref name="approved"/> completes the charge, a refusal
    /// fails it with <c>authentication_failed</c>. The same key and answer always give the same result.
    /// </summary>
    Task<ChargeResult> ConfirmAsync(string methodToken, long amountMinor, string currency, string idempotencyKey, bool approved, CancellationToken ct);
}
