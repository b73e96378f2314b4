using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Stripe;

namespace Kassa.Stripe;

/// <summary>
/// Stripe behind Kassa's provider port, for one tenant (its own Stripe key). Every call that creates
/// something sends an <c>Idempotency-Key</c> Kassa chose and committed first — the payment attempt's id
/// for a charge, the refund's id for a refund, Kassa's checkout session id for a Checkout Session, a key
/// derived from account and customer for a Stripe Customer — so a retry, a timeout or a crash between
/// the call and its record never makes two.
/// <para>
/// What Kassa sends to Stripe and what it keeps: <see cref="StripeTokens"/> for the method token; raw
/// card numbers are never sent (<see cref="AttachCardAsync"/> refuses), cards are saved by Stripe itself
/// (SetupIntent with Stripe.js, or Checkout in setup mode).
/// </para>
/// </summary>
public sealed class StripeProvider(IStripeClient client, Tenant tenant) : IPaymentProvider, IHostedCheckoutProvider
{
    public const string ProviderName = "stripe";

    public string Name => ProviderName;

    public Tenant Tenant => tenant;

    public Task<AttachResult> AttachCardAsync(string customerId, CardInput card, DateTimeOffset now, CancellationToken ct) =>
        Task.FromResult(new AttachResult(null, null, ErrorCodes.Unsupported,
            "Stripe is configured for this account: Kassa never sends card numbers to Stripe. Save a card with a checkout session in setup mode (Stripe Checkout) or a SetupIntent confirmed with Stripe.js."));

    /// <summary>
    /// The Stripe Customer of a Kassa customer, made once: the mapping (<c>provider_customers</c>) is read
    /// first; otherwise a Customer is created with <c>metadata[kassa_customer_id]</c> and an idempotency
    /// key derived from the account, mode and customer (two nodes syncing at once get the same Stripe
    /// Customer back), and the mapping is written. Crosses the network: call it outside a transaction.
    /// </summary>
    public async Task<Result<string>> EnsureCustomerAsync(IKassaStore store, string customerId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var (mapped, customer) = await store.ReadAsync(async s =>
            (await s.Providers.GetCustomerAsync(tenant, ProviderName, customerId), await s.Customers.GetAsync(tenant, customerId)), ct);
        if (mapped is not null) return mapped.ProviderCustomerId;
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);

        var options = new CustomerCreateOptions
        {
            Name = customer.Name,
            Email = customer.Email,
            Metadata = new Dictionary<string, string> { ["kassa_customer_id"] = customer.Id, ["kassa_account_id"] = tenant.AccountId },
        };
        Customer created;
        try
        {
            created = await new CustomerService(client).CreateAsync(options, Key(CustomerKey(customer.Id)), ct);
        }
        catch (Exception e) when (Transient(e, ct))
        {
            return new KassaError(ErrorCodes.ProviderUnavailable, $"Stripe did not answer: {e.Message}");
        }
        catch (StripeException e)
        {
            return new KassaError(ErrorCodes.ValidationFailed, $"Stripe refused the customer: {e.StripeError?.Message ?? e.Message}", "customer_id");
        }
        var record = new ProviderCustomerRecord(tenant.AccountId, tenant.Livemode, ProviderName, customer.Id, created.Id, DateTimeOffset.FromUnixTimeSeconds(created.Created.ToUnixSeconds()));
        var stored = await store.WriteAsync(async s =>
        {
            if (await s.Providers.TryInsertCustomerAsync(record)) return record.ProviderCustomerId;
            return (await s.Providers.GetCustomerAsync(tenant, ProviderName, customer.Id))!.ProviderCustomerId;
        }, ct: CancellationToken.None);
        return stored;
    }

    /// <summary>
    /// A SetupIntent for saving a card off-session (the customer confirms it with Stripe.js; the card then
    /// reaches Kassa as a <c>payment_method.attached</c> / <c>setup_intent.succeeded</c> webhook). Answers
    /// the SetupIntent's id and client secret (for the browser only).
    /// </summary>
    public async Task<Result<(string SetupIntentId, string ClientSecret)>> CreateSetupIntentAsync(IKassaStore store, string customerId, string idempotencyKey,
        CancellationToken ct)
    {
        var stripeCustomer = await EnsureCustomerAsync(store, customerId, ct);
        if (!stripeCustomer.IsOk) return stripeCustomer.Error!;
        try
        {
            var intent = await new SetupIntentService(client).CreateAsync(new SetupIntentCreateOptions
            {
                Customer = stripeCustomer.Value,
                AllowedPaymentMethodTypes = ["card"],
                Usage = "off_session",
                Metadata = new Dictionary<string, string> { ["kassa_customer_id"] = customerId },
            }, Key(idempotencyKey), ct);
            return (intent.Id, intent.ClientSecret);
        }
        catch (Exception e) when (Transient(e, ct))
        {
            return new KassaError(ErrorCodes.ProviderUnavailable, $"Stripe did not answer: {e.Message}");
        }
    }

    /// <summary>
    /// An off-session PaymentIntent, confirmed at once, with the attempt's id as Stripe's idempotency key
    /// and as <c>metadata[kassa_payment_id]</c> (so the webhook finds the attempt). A timeout, a rate
    /// limit, a Stripe server error or a broken connection throws <see cref="ProviderUnavailableException"/>:
    /// the attempt stays processing and the reconcile worker asks again with the same key.
    /// </summary>
    public async Task<ChargeResult> ChargeAsync(string methodToken, long amountMinor, string currency, string idempotencyKey, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amountMinor);
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        if (!StripeTokens.TryParse(methodToken, out var customer, out var paymentMethod))
            return new ChargeResult(ChargeStatus.Failed, "", "invalid_payment_method", "This payment method is not a Stripe method.");
        var service = new PaymentIntentService(client);
        try
        {
            var intent = await service.CreateAsync(new PaymentIntentCreateOptions
            {
                Amount = amountMinor,
                Currency = currency,
                Customer = customer,
                PaymentMethod = paymentMethod,
                AllowedPaymentMethodTypes = ["card"],
                Confirm = true,
                OffSession = true,
                Metadata = new Dictionary<string, string> { ["kassa_payment_id"] = idempotencyKey, ["kassa_account_id"] = tenant.AccountId },
            }, Key(idempotencyKey), ct);
            // Stripe replays a key's first answer for 24 hours: a PaymentIntent that was still processing
            // then is read again for its present state.
            if (intent.Status == "processing") intent = await service.GetAsync(intent.Id, cancellationToken: ct);
            return Outcome(intent);
        }
        catch (Exception e) when (Transient(e, ct))
        {
            throw new ProviderUnavailableException($"Stripe did not answer for payment '{idempotencyKey}': {e.Message}", e);
        }
        catch (StripeException e)
        {
            return Refused(e);
        }
    }

    /// <summary>
    /// A Refund of the PaymentIntent (Kassa's <c>provider_charge_id</c>) with Kassa's refund id as the key.
    /// Stripe's <c>pending</c> counts as succeeded (Stripe has taken it on; a later failure arrives as a
    /// <c>refund.failed</c> webhook); <c>failed</c> / <c>canceled</c> and a refusal fail.
    /// </summary>
    public async Task<RefundResult> RefundAsync(string providerChargeId, long amountMinor, string currency, string idempotencyKey, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amountMinor);
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        try
        {
            var refund = await new RefundService(client).CreateAsync(new RefundCreateOptions
            {
                PaymentIntent = providerChargeId,
                Amount = amountMinor,
                Metadata = new Dictionary<string, string> { ["kassa_refund_id"] = idempotencyKey },
            }, Key(idempotencyKey), ct);
            return refund.Status is "succeeded" or "pending"
                ? new RefundResult(true, refund.Id, null)
                : new RefundResult(false, refund.Id, refund.FailureReason ?? "refund_failed");
        }
        catch (Exception e) when (Transient(e, ct))
        {
            throw new ProviderUnavailableException($"Stripe did not answer for refund '{idempotencyKey}': {e.Message}", e);
        }
        catch (StripeException e)
        {
            return new RefundResult(false, "", e.StripeError?.Code ?? "refund_failed");
        }
    }

    /// <summary>
    /// A Stripe Checkout Session for Kassa's checkout session: <c>payment</c> mode charges the amount and
    /// keeps the card (<c>setup_future_usage=off_session</c>); <c>setup</c> mode saves a card only. Its
    /// <c>client_reference_id</c> is Kassa's session id and the idempotency key is too, so asking again
    /// answers the same Stripe session.
    /// </summary>
    public async Task<Result<HostedCheckoutStarted>> StartHostedCheckoutAsync(IKassaStore store, HostedCheckoutRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Mode is not ("payment" or "setup")) return KassaError.Validation("mode", "must be payment or setup for Stripe Checkout");
        if (request.Mode == "payment" && (request.Amount is not > 0 || request.Currency is null))
            return KassaError.Validation("amount", "a payment checkout needs a positive amount and a currency");
        var stripeCustomer = await EnsureCustomerAsync(store, request.CustomerId, ct);
        if (!stripeCustomer.IsOk) return stripeCustomer.Error!;
        var metadata = new Dictionary<string, string>
        {
            ["kassa_checkout_session_id"] = request.CheckoutSessionId, ["kassa_customer_id"] = request.CustomerId, ["kassa_account_id"] = tenant.AccountId,
        };
        var options = new global::Stripe.Checkout.SessionCreateOptions
        {
            Mode = request.Mode,
            ClientReferenceId = request.CheckoutSessionId,
            Customer = stripeCustomer.Value,
            SuccessUrl = request.SuccessUrl,
            CancelUrl = request.CancelUrl,
            ExpiresAt = request.ExpiresAt.UtcDateTime,
            AllowedPaymentMethodTypes = ["card"],
            Metadata = metadata,
        };
        if (request.Mode == "payment")
        {
            options.LineItems =
            [
                new global::Stripe.Checkout.SessionLineItemOptions
                {
                    Quantity = 1,
                    PriceData = new global::Stripe.Checkout.SessionLineItemPriceDataOptions
                    {
                        Currency = request.Currency,
                        UnitAmount = request.Amount,
                        ProductData = new global::Stripe.Checkout.SessionLineItemPriceDataProductDataOptions { Name = request.Description },
                    },
                },
            ];
            options.PaymentIntentData = new global::Stripe.Checkout.SessionPaymentIntentDataOptions { SetupFutureUsage = "off_session", Metadata = metadata };
        }
        else
        {
            options.SetupIntentData = new global::Stripe.Checkout.SessionSetupIntentDataOptions { Metadata = metadata };
        }
        try
        {
            var session = await new global::Stripe.Checkout.SessionService(client).CreateAsync(options, Key(request.IdempotencyKey), ct);
            return new HostedCheckoutStarted(session.Id, session.Url);
        }
        catch (Exception e) when (Transient(e, ct))
        {
            return new KassaError(ErrorCodes.ProviderUnavailable, $"Stripe did not answer: {e.Message}");
        }
        catch (StripeException e)
        {
            return new KassaError(ErrorCodes.ValidationFailed, $"Stripe refused the checkout session: {e.StripeError?.Message ?? e.Message}", e.StripeError?.Param);
        }
    }

    /// <summary>Reads a PaymentMethod (its card and customer), for a webhook that names it without its details.</summary>
    public Task<PaymentMethod> GetPaymentMethodAsync(string paymentMethodId, CancellationToken ct) =>
        new PaymentMethodService(client).GetAsync(paymentMethodId, cancellationToken: ct);

    private static ChargeResult Outcome(PaymentIntent intent) => intent.Status switch
    {
        "succeeded" => new ChargeResult(ChargeStatus.Succeeded, intent.Id, null, null),
        "requires_action" or "requires_confirmation" =>
            new ChargeResult(ChargeStatus.RequiresAction, intent.Id, ErrorCodes.RequiresAction, "The card needs 3-D Secure authentication."),
        "requires_payment_method" or "canceled" => new ChargeResult(ChargeStatus.Failed, intent.Id, FailureCode(intent.LastPaymentError),
            Message(intent.LastPaymentError) ?? "The card was declined."),
        _ => throw new ProviderUnavailableException($"Stripe's PaymentIntent '{intent.Id}' is {intent.Status}; its outcome is not known yet"),
    };

    /// <summary>What a 402 (or another refusal) means for the attempt. <c>authentication_required</c> is 3-D Secure the customer must complete.</summary>
    private static ChargeResult Refused(StripeException e)
    {
        var error = e.StripeError;
        var intentId = error?.PaymentIntent?.Id ?? "";
        if (error?.Code == "authentication_required")
            return new ChargeResult(ChargeStatus.RequiresAction, intentId, ErrorCodes.RequiresAction, "The card needs 3-D Secure authentication.");
        if (error?.Type == "card_error") return new ChargeResult(ChargeStatus.Failed, intentId, FailureCode(error), Message(error));
        return new ChargeResult(ChargeStatus.Failed, intentId, error?.Code ?? "provider_error", error?.Message ?? e.Message);
    }

    private static string FailureCode(StripeError? error) =>
        error?.DeclineCode == "insufficient_funds" ? ErrorCodes.InsufficientFunds
        : error?.Code is null or "card_declined" ? ErrorCodes.CardDeclined
        : error.Code;

    private static string? Message(StripeError? error) =>
        error is null ? null : error.DeclineCode is { } decline ? $"{error.Message} (decline_code: {decline})" : error.Message;

    /// <summary>
    /// Whether a failure leaves the outcome unknown: no answer (timeout, broken connection), or an answer
    /// that says "not now" (429 rate limit, 409 concurrent use of the key, a Stripe server error).
    /// </summary>
    private static bool Transient(Exception e, CancellationToken ct) => e switch
    {
        OperationCanceledException => !ct.IsCancellationRequested,
        HttpRequestException or IOException => true,
        StripeException s => s.HttpStatusCode == 0 || (int)s.HttpStatusCode is 409 or 429 or >= 500
            || s.StripeError?.Type is "api_connection_error" or "rate_limit_error" || s.InnerException is HttpRequestException or OperationCanceledException,
        _ => false,
    };

    private static RequestOptions Key(string idempotencyKey) => new() { IdempotencyKey = idempotencyKey };

    /// <summary>One Stripe Customer per Kassa customer, whichever node or retry asks first.</summary>
    private string CustomerKey(string customerId) =>
        "kassa_cus_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{tenant.AccountId}|{tenant.Livemode}|{customerId}")))[..40];
}

internal static class DateTimes
{
    public static long ToUnixSeconds(this DateTime t) => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)).ToUnixTimeSeconds();
}
