using System.Security.Cryptography;
using Kassa.Core.Errors;
using Kassa.Core.Payments;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Stripe;

namespace Kassa.Stripe;

/// <summary>
/// Reads Stripe's webhook deliveries for the provider-events pipeline: the <c>Stripe-Signature</c> header
/// is verified by Stripe.net (<see cref="EventUtility.ConstructEvent(string, string, string, long, long, bool)"/>)
/// with the tenant's webhook signing secret and Stripe's default tolerance of 300 seconds against the
/// server's clock, then the event is mapped to what it means for Kassa. An event of another API version
/// than the SDK's is still read (Kassa only uses fields every recent version has). Events Kassa has no
/// use for are answered without an effect (recorded and acknowledged by the pipeline).
/// </summary>
public sealed class StripeWebhookReader(SecretBox secrets, StripeProviderFactory providers) : IProviderWebhookReader
{
    /// <summary>Stripe's own default: a delivery signed more than 5 minutes away from now is refused (replay protection).</summary>
    public const long ToleranceSeconds = 300;

    public string Provider => StripeProvider.ProviderName;

    public async Task<Result<ProviderEvent>> ReadAsync(IStoreSession s, Tenant tenant, ProviderDelivery delivery, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(delivery);
        var config = await s.Providers.GetConfigAsync(tenant, Provider);
        if (config?.WebhookSecretCipher is null)
            return new KassaError(ErrorCodes.SignatureInvalid, "No Stripe webhook secret is configured for this account and mode (PUT /v1/providers/stripe)");
        if (delivery.Header("Stripe-Signature") is not { Length: > 0 } signature)
            return new KassaError(ErrorCodes.SignatureInvalid, "The Stripe-Signature header is missing");
        if (!secrets.Available) return new KassaError(ErrorCodes.SecretsUnavailable, secrets.UnavailableReason ?? "No key to decrypt provider secrets with");

        Event stripeEvent;
        try
        {
            var secret = secrets.Decrypt(config.WebhookSecretCipher, SecretBox.Context(tenant.AccountId, tenant.Livemode, Provider, "webhook_secret"));
            stripeEvent = EventUtility.ConstructEvent(delivery.Body, signature, secret, ToleranceSeconds, now.ToUnixTimeSeconds(), throwOnApiVersionMismatch: false);
        }
        catch (StripeException e)
        {
            return new KassaError(ErrorCodes.SignatureInvalid, $"The Stripe signature does not verify: {e.Message}");
        }
        catch (CryptographicException)
        {
            return new KassaError(ErrorCodes.SignatureInvalid, "The configured webhook secret cannot be read with this server's KASSA_SECRETS_KEY");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or Newtonsoft.Json.JsonException or InvalidOperationException)
        {
            // A correctly signed body can still be malformed (a sender that has the secret, or a bug at the
            // sender). Stripe.net parses it after the signature check with System.Text.Json: broken JSON or a
            // field of the wrong type throws JsonException, a body that is not an object (an array, a string,
            // null) InvalidOperationException. That is bad input, a 400, never a 500.
            return KassaError.Validation("body", "is not a Stripe event");
        }
        if (stripeEvent is null || string.IsNullOrEmpty(stripeEvent.Id) || string.IsNullOrEmpty(stripeEvent.Type))
            return KassaError.Validation("body", "is not a Stripe event (no id or type)");

        if (stripeEvent.Livemode != tenant.Livemode)
            return new KassaError(ErrorCodes.LivemodeMismatch, $"A {(stripeEvent.Livemode ? "live" : "test")} Stripe event was sent to the {(tenant.Livemode ? "live" : "test")} webhook URL");
        var effect = await EffectAsync(s, tenant, config, stripeEvent, ct);
        return new ProviderEvent(stripeEvent.Id, stripeEvent.Type, stripeEvent.Livemode, ToOffset(stripeEvent.Created), effect);
    }

    private async Task<ProviderEffect?> EffectAsync(IStoreSession s, Tenant tenant, ProviderConfigRecord config, Event e, CancellationToken ct)
    {
        var data = e.Data.Object;
        switch (e.Type)
        {
            case "payment_intent.succeeded" when data is PaymentIntent pi:
                return new ChargeSucceeded(pi.Id, Meta(pi.Metadata, "kassa_payment_id"), pi.AmountReceived > 0 ? pi.AmountReceived : pi.Amount, pi.Currency);
            case "payment_intent.payment_failed" when data is PaymentIntent pi:
            {
                var error = pi.LastPaymentError;
                var code = error?.DeclineCode == "insufficient_funds" ? ErrorCodes.InsufficientFunds
                    : error?.Code == "authentication_required" ? ErrorCodes.RequiresAction
                    : error?.Code is null or "card_declined" ? ErrorCodes.CardDeclined : error.Code;
                var message = error is null ? "The payment failed." : error.DeclineCode is { } d ? $"{error.Message} (decline_code: {d})" : error.Message ?? "The payment failed.";
                return new ChargeFailed(pi.Id, Meta(pi.Metadata, "kassa_payment_id"), code, message);
            }
            case "charge.refunded" when data is Charge charge:
            {
                var refund = await RefundOfAsync(s, tenant, config, charge, ct);
                return refund is null ? null
                    : new ChargeRefunded(charge.PaymentIntentId ?? charge.Id, refund.Id, Meta(refund.Metadata, "kassa_refund_id"), refund.Amount, refund.Currency);
            }
            case "refund.created" or "refund.updated" when data is Refund refund:
                // Only a refund Stripe has taken on moves money; a failed or canceled one is recorded without effect.
                return refund.Status is "succeeded" or "pending"
                    ? new ChargeRefunded(refund.PaymentIntentId ?? refund.ChargeId, refund.Id, Meta(refund.Metadata, "kassa_refund_id"), refund.Amount, refund.Currency)
                    : null;
            case "payment_method.attached" when data is PaymentMethod pm && pm.CustomerId is { } customer && pm.Card is { } card:
                return new MethodAttached(await KassaCustomerAsync(s, tenant, customer), customer, StripeTokens.Make(customer, pm.Id), Summary(card));
            case "setup_intent.succeeded" when data is SetupIntent si && si.CustomerId is { } siCustomer && si.PaymentMethodId is { } pmId:
            {
                var method = si.PaymentMethod?.Card is not null ? si.PaymentMethod : await GetMethodAsync(tenant, config, pmId, ct);
                return method?.Card is null ? null
                    : new MethodAttached(await KassaCustomerAsync(s, tenant, siCustomer), siCustomer, StripeTokens.Make(siCustomer, pmId), Summary(method.Card));
            }
            case "payment_method.detached" when data is PaymentMethod pm:
            {
                // Detached, the method no longer names its customer; the event's previous attributes do.
                var previous = (string?)(e.Data.PreviousAttributes as Newtonsoft.Json.Linq.JObject)?["customer"];
                return new MethodDetached(previous is null ? pm.Id : StripeTokens.Make(previous, pm.Id));
            }
            case "checkout.session.completed" when data is global::Stripe.Checkout.Session session:
                return await CheckoutAsync(tenant, config, session, ct);
            case "charge.dispute.created" or "charge.dispute.updated" or "charge.dispute.closed" when data is Dispute dispute:
                return new DisputeChanged(dispute.Id, dispute.PaymentIntentId ?? dispute.ChargeId, dispute.Amount, dispute.Currency, dispute.Reason,
                    DisputeStatus(dispute.Status));
            default:
                return null;
        }
    }

    /// <summary>
    /// A completed Stripe Checkout: Kassa's session (<c>client_reference_id</c>), the PaymentIntent it
    /// charged (payment mode) and the card it saved (read from Stripe: the session names only ids).
    /// </summary>
    private async Task<ProviderEffect> CheckoutAsync(Tenant tenant, ProviderConfigRecord config, global::Stripe.Checkout.Session session, CancellationToken ct)
    {
        string? customer = session.CustomerId, pmId = null, chargeId = null;
        ChargeStatus? status = null;
        var client = Client(tenant, config);
        if (session.Mode == "payment" && session.PaymentIntentId is { } piId)
        {
            var pi = await new PaymentIntentService(client).GetAsync(piId, cancellationToken: ct);
            (chargeId, pmId, customer) = (pi.Id, pi.PaymentMethodId, customer ?? pi.CustomerId);
            status = pi.Status switch
            {
                "succeeded" => ChargeStatus.Succeeded,
                "requires_action" => ChargeStatus.RequiresAction,
                _ => ChargeStatus.Failed,
            };
        }
        else if (session.SetupIntentId is { } siId)
        {
            var si = await new SetupIntentService(client).GetAsync(siId, cancellationToken: ct);
            (pmId, customer) = (si.PaymentMethodId, customer ?? si.CustomerId);
        }
        var method = pmId is null ? null : await new PaymentMethodService(client).GetAsync(pmId, cancellationToken: ct);
        return new CheckoutCompleted(session.Id, session.ClientReferenceId, method?.Card is null || customer is null ? null : StripeTokens.Make(customer, method.Id),
            method?.Card is { } card ? Summary(card) : null, chargeId, status);
    }

    /// <summary>The most refunds of one charge read to find the one a <c>charge.refunded</c> delivery is about (Stripe's page size limit).</summary>
    public const int ChargeRefundsMax = 100;

    /// <summary>
    /// The refund a <c>charge.refunded</c> delivery is about. Since API version 2022-11-15 Stripe no longer
    /// includes <c>refunds</c> in the Charge (it is expandable only), so a delivery of today's API version
    /// names no refund: the charge's refunds are then listed at Stripe. Of the refunds that moved money,
    /// the oldest one Kassa has not recorded yet is chosen, so that two refunds of one charge whose
    /// deliveries arrive out of order are each recorded once; when all are known, the newest (the pipeline
    /// then answers it as already recorded or settled).
    /// </summary>
    private async Task<Refund?> RefundOfAsync(IStoreSession s, Tenant tenant, ProviderConfigRecord config, Charge charge, CancellationToken ct)
    {
        var refunds = charge.Refunds?.Data is { Count: > 0 } included ? included
            : (await new RefundService(Client(tenant, config)).ListAsync(new RefundListOptions { Charge = charge.Id, Limit = ChargeRefundsMax }, cancellationToken: ct)).Data;
        var moved = refunds.Where(r => r.Status is "succeeded" or "pending").OrderBy(r => r.Created).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
        foreach (var refund in moved)
            if (await s.ProviderEvents.RefundIdByProviderRefundAsync(tenant, refund.Id) is null) return refund;
        return moved.LastOrDefault();
    }

    private async Task<PaymentMethod?> GetMethodAsync(Tenant tenant, ProviderConfigRecord config, string paymentMethodId, CancellationToken ct) =>
        await new PaymentMethodService(Client(tenant, config)).GetAsync(paymentMethodId, cancellationToken: ct);

    private IStripeClient Client(Tenant tenant, ProviderConfigRecord config) =>
        providers.Client(secrets.Decrypt(config.SecretKeyCipher, SecretBox.Context(tenant.AccountId, tenant.Livemode, Provider, "secret_key")));

    private static async Task<string?> KassaCustomerAsync(IStoreSession s, Tenant tenant, string stripeCustomerId) =>
        (await s.Providers.FindCustomerByProviderIdAsync(tenant, StripeProvider.ProviderName, stripeCustomerId))?.CustomerId;

    private static CardSummary Summary(PaymentMethodCard card) => new(card.Brand switch
    {
        "visa" => CardBrand.Visa,
        "mastercard" => CardBrand.Mastercard,
        "amex" => CardBrand.Amex,
        "discover" => CardBrand.Discover,
        _ => CardBrand.Unknown,
    }, card.Last4, (int)card.ExpMonth, (int)card.ExpYear);

    /// <summary>
    /// Stripe's dispute statuses in Kassa's four: an inquiry (<c>warning_…</c>) is reported as the dispute it
    /// may become, and one closed without a chargeback (<c>warning_closed</c>) or <c>prevented</c> kept the money: won.
    /// </summary>
    private static string DisputeStatus(string status) => status switch
    {
        "warning_needs_response" or "needs_response" => "needs_response",
        "warning_under_review" or "under_review" => "under_review",
        "warning_closed" or "won" or "prevented" => "won",
        "lost" => "lost",
        _ => status,
    };

    private static string? Meta(IDictionary<string, string>? metadata, string key) => metadata is not null && metadata.TryGetValue(key, out var v) ? v : null;

    private static DateTimeOffset ToOffset(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));
}
