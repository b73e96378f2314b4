using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Checkout;

/// <summary>
/// The 3-D Secure step on the checkout page (<c>POST /checkout/{id}/confirm</c>): the customer confirms the
/// charge that answered <c>requires_action</c>, or cancels it. Two-step like every charge: in one transaction
/// (session, invoice, payment locked) the waiting attempt goes back to <c>processing</c> — the partial unique
/// index then allows no other attempt on the invoice — and commits; the provider is told the answer with the
/// attempt's id as key (<see cref="IConfirmsOnKassaPage"/>); the outcome is recorded by ChargeInvoice's outcome
/// transaction. Confirmed: <c>succeeded</c>, the invoice paid and the session complete. Cancelled: <c>failed</c>
/// with <c>authentication_failed</c>, the invoice stays open and the page offers to try again or use another card.
/// If this process stops after the first step, the reconcile worker charges the attempt again with the same key;
/// the sandbox answers 3-D Secure again, so the page asks again: never a charge without the customer's answer.
/// </summary>
public static class ConfirmCheckoutPayment
{
    public const string AuthenticationFailed = "authentication_failed";

    private sealed record Begun(CheckoutSessionRecord Session, PaymentRecord? Payment, PaymentMethodRecord? Method);

    public static async Task<Result<PayCheckoutSession.Done>> Execute(IKassaStore store, PaymentProviders providers, OperationContext op, string sessionId,
        string? nonce, bool approved, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(providers);
        var tenant = op.Tenant;
        var begun = await store.WriteAsync<Result<Begun>>(async s =>
        {
            var session = await s.Checkout.GetAsync(tenant, sessionId, forUpdate: true);
            if (session is null) return KassaError.NotFound("checkout_session", sessionId);
            if (!PayCheckoutSession.NonceMatches(session, nonce)) return PayCheckoutSession.FormRejected();
            session = await CheckoutRules.RefreshAsync(s, op, session);
            if (session.Status != CheckoutRules.Open) return new Begun(session, null, null);
            if (session.PendingPaymentId is not { } paymentId) return KassaError.InvalidState("No payment of this checkout waits for confirmation");
            if (session.InvoiceId is { } invoiceId) await s.Invoices.GetAsync(tenant, invoiceId, forUpdate: true);
            var payment = await s.Payments.GetPaymentAsync(tenant, paymentId, forUpdate: true);
            if (payment is not { Status: PaymentStatuses.RequiresAction }) return KassaError.InvalidState($"Payment '{paymentId}' does not wait for confirmation");
            if (payment.InvoiceId is { } paid && await s.Payments.ProcessingPaymentOfInvoiceAsync(tenant, paid) is { } inFlight)
                return KassaError.InvalidState($"Invoice '{paid}' has a payment in progress ('{inFlight.Id}')");
            var processing = payment with { Status = PaymentStatuses.Processing, FailureCode = null, FailureMessage = null, SettledAt = null };
            await s.Payments.UpdatePaymentAsync(processing);
            await RecordAudit.Execute(s, op, approved ? "payment.confirmation_accepted" : "payment.confirmation_refused", "payment", payment.Id, ["status"]);
            return new Begun(session, processing, await s.Payments.GetMethodAsync(tenant, payment.PaymentMethodId));
        }, commitIf: r => r.IsOk, ct: CancellationToken.None);
        if (!begun.IsOk) return begun.Error!;
        if (begun.Value is not { Payment: { } payment, Method: { } method }) return new PayCheckoutSession.Done(begun.Value.Session, null);

        IPaymentProvider? provider;
        try
        {
            provider = await providers.NamedAsync(tenant, payment.Provider, CancellationToken.None);
        }
        catch (ProviderUnavailableException)
        {
            // The attempt is written and stays processing: the reconcile worker completes it once the provider is back.
            return KassaError.InvalidState($"Payment '{payment.Id}' is in progress");
        }
        var charge = provider is null || provider.Name != payment.Provider
            ? new ChargeResult(ChargeStatus.Failed, "", "provider_unavailable", $"No '{payment.Provider}' provider serves this mode")
            : provider is IConfirmsOnKassaPage page
                ? await page.ConfirmAsync(method.ProviderToken, payment.Amount, payment.Currency, payment.Id, approved, CancellationToken.None)
                : approved
                    ? await provider.ChargeAsync(method.ProviderToken, payment.Amount, payment.Currency, payment.Id, CancellationToken.None)
                    : new ChargeResult(ChargeStatus.Failed, payment.ProviderChargeId ?? "", AuthenticationFailed, "The payment was not confirmed with the bank.");
        return await PayCheckoutSession.RecordAsync(store, op, sessionId, payment, charge);
    }
}
