using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.ProviderWebhooks;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Engine.Checkout;

/// <summary>
/// A provider-hosted checkout completed (<see cref="CheckoutCompleted"/>, from Stripe's
/// <c>checkout.session.completed</c>), applied in the webhook pipeline's transaction, so a repeated or
/// concurrent delivery is deduplicated before it gets here and a failure rolls everything back for the
/// provider to deliver again. With the Kassa session locked (the lock order of every checkout transaction):
/// <list type="number">
/// <item>The card the customer entered becomes a Kassa payment method (once per token, as
/// <c>payment_method.attached</c> from the same provider would make it) and, outside payment mode, the
/// customer's default — a subscription renews on the card it was bought with.</item>
/// <item>A charge the provider made is recorded as a payment of the session's invoice through
/// <see cref="ChargeInvoice.RecordOutcomeAsync"/>: the invoice paid, DR 1000 / CR 1200,
/// <c>payment.succeeded</c>, the subscription activated — exactly as a charge Kassa asked for. If the
/// invoice was voided meanwhile (the Kassa session expired first), the same recording keeps the money
/// as customer credit: never lost.</item>
/// <item>The Kassa session completes with <c>checkout.completed</c>; a trial that needed a card starts.</item>
/// </list>
/// Only a provider session Kassa opened for that Kassa session is accepted (the remembered pair), so an
/// event naming another session's reference changes nothing.
/// </summary>
public sealed class CompleteProviderCheckout : ICheckoutCompletedHandler
{
    public const string UnknownCheckout = "ignored_unknown_checkout";
    public const string AlreadyComplete = "ignored_already_complete";

    public async Task<Result<string>> ApplyAsync(IStoreSession s, OperationContext op, string provider, CheckoutCompleted completed, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(completed);
        if (completed.CheckoutSessionId is not { } sessionId) return UnknownCheckout;
        var session = await s.Checkout.GetAsync(op.Tenant, sessionId, forUpdate: true);
        var link = session is null ? null : await s.Checkout.GetProviderSessionAsync(op.Tenant, session.Id);
        if (session is null || link is null || link.Provider != provider || link.ProviderSessionId != completed.ProviderSessionId) return UnknownCheckout;
        if (session.Status == CheckoutRules.Complete) return AlreadyComplete;

        string? methodId = null;
        if (completed is { MethodToken: { } token, Card: { } card })
        {
            var providerCustomer = token.Contains('/', StringComparison.Ordinal) ? token[..token.IndexOf('/', StringComparison.Ordinal)] : "";
            var attached = await ApplyMethodEvent.AttachedAsync(s, op, provider, new MethodAttached(session.CustomerId, providerCustomer, token, card));
            if (!attached.IsOk) return attached.Error!;
            methodId = (await s.ProviderEvents.AttachedMethodIdsByTokenAsync(op.Tenant, provider, token, session.CustomerId, 1)).FirstOrDefault();
            if (methodId is not null && session.Mode != CheckoutRules.ModePayment && await s.Payments.GetMethodAsync(op.Tenant, methodId) is { IsDefault: false })
            {
                var made = await SetDefaultPaymentMethod.Execute(s, op, session.CustomerId, new SetDefaultPaymentMethod.Request(methodId));
                if (!made.IsOk) return made.Error!;
            }
        }

        string? paymentId = null;
        if (completed is { ProviderChargeId: { } chargeId, ChargeStatus: ChargeStatus.Succeeded } && session.InvoiceId is { } invoiceId)
        {
            if (methodId is null) return KassaError.Validation("payment_method", "a paid provider checkout must name the card it charged");
            if (await ApplyChargeEvent.FindAsync(s, op.Tenant, provider, null, chargeId) is { } known)
            {
                paymentId = known.Id;
            }
            else
            {
                var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
                var amount = invoice is { Status: Invoices.InvoiceRules.Open } ? invoice.AmountDue : session.AmountTotal;
                var payment = new PaymentRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.Payment), session.CustomerId, invoiceId, amount,
                    invoice?.Currency ?? session.Currency ?? "usd", PaymentStatuses.Processing, null, null, methodId, provider, null, 0,
                    session.Description ?? $"Checkout {session.Id}", null, op.Now, null);
                await s.Payments.InsertPaymentAsync(payment);
                await RecordAudit.Execute(s, op, "payment.created", "payment", payment.Id, ["invoice_id", "amount", "payment_method_id"]);
                var outcome = await ChargeInvoice.RecordOutcomeAsync(s, op, payment.Id, invoiceId, new ChargeResult(ChargeStatus.Succeeded, chargeId, null, null));
                if (!outcome.IsOk) return outcome.Error!;
                paymentId = payment.Id;
            }
        }
        else if (session.InvoiceId is not null)
        {
            // Checkout completes only once paid; anything else (an asynchronous method still pending) is left to the charge's own events.
            return ProviderEventOutcomes.Recorded;
        }

        if (session.Status != CheckoutRules.Open) return ProviderEventOutcomes.Applied;
        if (session.InvoiceId is null && session.SubscriptionId is { } subId
            && await s.Subscriptions.GetAsync(op.Tenant, subId, forUpdate: true) is { Status: SubscriptionStatus.Incomplete } sub)
            await SubscriptionPayments.ActivateAsync(s, op, sub);
        await CheckoutRules.CompleteAsync(s, op, session, paymentId, methodId);
        return ProviderEventOutcomes.Applied;
    }
}
