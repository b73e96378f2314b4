using Kassa.Core.Errors;
using Kassa.Core.Payments;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

// CONTRACT STUB (issue 13): the seam between each provider's webhook format and Kassa's one pipeline.
// A provider's reader verifies a delivery and turns it into a ProviderEvent; the pipeline
// (POST /v1/providers/{provider}/webhooks) deduplicates by (provider, ProviderEvent.Id) and applies the
// effect in the same transaction as the dedupe row, so a user's code never sees which provider sits
// behind. Keep these signatures; members may be added.

/// <summary>One provider delivery, verified and normalized.</summary>
/// <param name="Id">The provider's event id (Stripe's <c>evt_…</c>): the deduplication key per provider and tenant.</param>
/// <param name="Type">The provider's own event type, kept for the record (<c>payment_intent.succeeded</c>).</param>
/// <param name="Effect">What it means for Kassa, or null when Kassa has nothing to do with it (recorded, acknowledged, ignored).</param>
public sealed record ProviderEvent(string Id, string Type, bool Livemode, DateTimeOffset Created, ProviderEffect? Effect);

/// <summary>What a provider event means, in Kassa's words. The ids are the provider's; Kassa finds its own rows by them.</summary>
public abstract record ProviderEffect;

/// <summary>A charge succeeded (also: a 3-D Secure charge completed later). <c>PaymentId</c> is Kassa's attempt id when the provider echoes it (idempotency key / metadata).</summary>
public sealed record ChargeSucceeded(string ProviderChargeId, string? PaymentId, long Amount, string Currency) : ProviderEffect;

/// <summary>A charge failed (or a 3-D Secure step was refused).</summary>
public sealed record ChargeFailed(string ProviderChargeId, string? PaymentId, string FailureCode, string FailureMessage) : ProviderEffect;

/// <summary>A refund the provider made; <c>RefundId</c> is Kassa's when Kassa asked for it. One made in the provider's dashboard has none.</summary>
public sealed record ChargeRefunded(string ProviderChargeId, string ProviderRefundId, string? RefundId, long Amount, string Currency) : ProviderEffect;

/// <summary>
/// A method was saved to the provider's customer (a SetupIntent, or Checkout in setup mode).
/// <c>CustomerId</c> is Kassa's customer, resolved by the reader from the provider's customer
/// mapping (null when the provider customer is not one Kassa made: then the event is only recorded).
/// </summary>
public sealed record MethodAttached(string? CustomerId, string ProviderCustomerId, string MethodToken, CardSummary Card) : ProviderEffect;

public sealed record MethodDetached(string MethodToken) : ProviderEffect;

/// <summary>
/// A checkout the provider hosted (Stripe Checkout) was completed. <c>CheckoutSessionId</c> is Kassa's
/// session id (sent as the provider session's reference); the method and charge are what it produced.
/// </summary>
public sealed record CheckoutCompleted(string ProviderSessionId, string? CheckoutSessionId, string? MethodToken, CardSummary? Card,
    string? ProviderChargeId, ChargeStatus? ChargeStatus) : ProviderEffect;

/// <summary>A dispute (chargeback) was opened, or changed status: <c>needs_response</c>, <c>under_review</c>, <c>won</c>, <c>lost</c>.</summary>
public sealed record DisputeChanged(string ProviderDisputeId, string ProviderChargeId, long Amount, string Currency, string Reason, string Status) : ProviderEffect;

/// <summary>How a delivery reached Kassa: its raw body (verify the signature over exactly these bytes) and headers.</summary>
public sealed record ProviderDelivery(string Body, Func<string, string?> Header);

/// <summary>
/// A provider's webhook reader. Deliveries arrive at
/// <c>POST /v1/providers/{provider}/webhooks?account_id=acc_…&amp;livemode=true|false</c> without an
/// API key: the query names the tenant whose configured secret must verify the signature (the
/// provider configuration endpoint answers this exact <c>webhook_url</c> for the operator to paste). <see cref="ReadAsync"/> finds the tenant's webhook secret itself
/// (the provider's configuration), verifies the signature and the timestamp tolerance against
/// <paramref name="now"/>, and reads the event. A delivery that does not verify is an error
/// (<c>signature_invalid</c>, 400) and has no effect.
/// </summary>
public interface IProviderWebhookReader
{
    /// <summary>The provider name in the path (<c>sandbox</c>, <c>stripe</c>).</summary>
    string Provider { get; }

    Task<Result<ProviderEvent>> ReadAsync(IStoreSession s, Tenant tenant, ProviderDelivery delivery, DateTimeOffset now, CancellationToken ct);
}

/// <summary>A request for a card form the provider hosts itself (Stripe Checkout).</summary>
/// <param name="Mode"><c>payment</c> (charge <c>Amount</c> and save the card) or <c>setup</c> (save a card only).</param>
/// <param name="IdempotencyKey">Kassa's checkout session id: the same session never opens two provider sessions.</param>
public sealed record HostedCheckoutRequest(Tenant Tenant, string CheckoutSessionId, string CustomerId, string Mode, long? Amount, string? Currency,
    string Description, string SuccessUrl, string CancelUrl, DateTimeOffset ExpiresAt, string IdempotencyKey);

public sealed record HostedCheckoutStarted(string ProviderSessionId, string Url);

/// <summary>
/// A provider that hosts the card form itself. Kassa's checkout session then sends the customer to
/// <see cref="HostedCheckoutStarted.Url"/>; the completion comes back as a <see cref="CheckoutCompleted"/>
/// provider event. The sandbox does not implement it: Kassa renders the sandbox's card form.
/// </summary>
public interface IHostedCheckoutProvider
{
    /// <summary>
    /// Opens the provider's session. It crosses the network, so it is called outside any Kassa
    /// transaction; it may run its own short ones on <paramref name="store"/> (the provider's customer
    /// mapping). Called again with the same idempotency key it answers the same provider session.
    /// </summary>
    Task<Result<HostedCheckoutStarted>> StartHostedCheckoutAsync(IKassaStore store, HostedCheckoutRequest request, CancellationToken ct);
}
