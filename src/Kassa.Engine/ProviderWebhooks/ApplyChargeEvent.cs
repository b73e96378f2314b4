using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Events;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ProviderWebhooks;

/// <summary>
/// A provider's <see cref="ChargeSucceeded"/> or <see cref="ChargeFailed"/>: settles a payment attempt
/// still <c>processing</c> (the provider answered the webhook before Kassa's own call returned, or the
/// call's answer was lost) or <c>requires_action</c> (the customer finished or refused 3-D Secure later),
/// through <see cref="ChargeInvoice.RecordOutcomeAsync"/> — the one outcome recording, so the invoice,
/// the ledger entry and <c>payment.succeeded</c> happen exactly as for a direct answer, once. A payment
/// already settled is left alone: a failure after a success (or any repeat) changes nothing. A failure
/// of a <c>requires_action</c> attempt only fails the payment (see <see cref="RefuseActionAsync"/>).
/// </summary>
public static class ApplyChargeEvent
{
    public static async Task<Result<string>> SucceededAsync(IStoreSession s, OperationContext op, string provider, ChargeSucceeded e)
    {
        var found = await FindAsync(s, op.Tenant, provider, e.PaymentId, e.ProviderChargeId);
        if (found is null) return ProviderEventOutcomes.UnknownPayment;
        if (found.Amount != e.Amount || !string.Equals(found.Currency, e.Currency, StringComparison.OrdinalIgnoreCase)) return ProviderEventOutcomes.AmountMismatch;
        return await SettleAsync(s, op, found, new ChargeResult(ChargeStatus.Succeeded, e.ProviderChargeId, null, null));
    }

    public static async Task<Result<string>> FailedAsync(IStoreSession s, OperationContext op, string provider, ChargeFailed e)
    {
        var found = await FindAsync(s, op.Tenant, provider, e.PaymentId, e.ProviderChargeId);
        if (found is null) return ProviderEventOutcomes.UnknownPayment;
        return await SettleAsync(s, op, found, new ChargeResult(ChargeStatus.Failed, e.ProviderChargeId, e.FailureCode, e.FailureMessage));
    }

    /// <summary>Kassa's attempt id (which the provider echoes) first, then the provider's charge id; always of this provider.</summary>
    internal static async Task<PaymentRecord?> FindAsync(IStoreSession s, Tenant tenant, string provider, string? paymentId, string providerChargeId)
    {
        var payment = paymentId is null ? null : await s.Payments.GetPaymentAsync(tenant, paymentId);
        if (payment is null && await s.ProviderEvents.PaymentIdByChargeAsync(tenant, provider, providerChargeId) is { } byCharge)
            payment = await s.Payments.GetPaymentAsync(tenant, byCharge);
        if (payment is null || payment.Provider != provider) return null;
        // A charge id the payment already carries must be this one: an event of another charge never settles it.
        if (payment.ProviderChargeId is { } known && known != providerChargeId) return null;
        return payment;
    }

    private static async Task<Result<string>> SettleAsync(IStoreSession s, OperationContext op, PaymentRecord found, ChargeResult charge)
    {
        // The lock order of ChargeInvoice: invoice first, then payment.
        var invoice = found.InvoiceId is null ? null : await s.Invoices.GetAsync(op.Tenant, found.InvoiceId, forUpdate: true);
        var payment = (await s.Payments.GetPaymentAsync(op.Tenant, found.Id, forUpdate: true))!;
        if (payment.Status == PaymentStatuses.RequiresAction)
        {
            if (charge.Status != ChargeStatus.Succeeded) return await RefuseActionAsync(s, op, payment, charge);
            // The outcome recording settles only a processing attempt; a 3-D Secure attempt is put back in
            // flight inside this transaction so that the one recording settles it, and its count on the
            // invoice is taken back so that the recording counts it once. Another attempt of the same
            // invoice may be in flight (at most one by a unique index): then this delivery is refused as a
            // whole (nothing, not even its dedupe row, is kept) and the provider delivers it again later.
            if (payment.InvoiceId is not null && await s.Payments.ProcessingPaymentOfInvoiceAsync(op.Tenant, payment.InvoiceId) is { } other)
                return KassaError.InvalidState($"Invoice '{payment.InvoiceId}' has a payment in progress ('{other.Id}'); deliver this event again later");
            await s.Payments.UpdatePaymentAsync(payment with { Status = PaymentStatuses.Processing, SettledAt = null });
            if (invoice is { AttemptCount: > 0 }) await s.Invoices.UpdateAsync(invoice with { AttemptCount = invoice.AttemptCount - 1 });
        }
        else if (payment.Status != PaymentStatuses.Processing) return ProviderEventOutcomes.AlreadySettled;

        var outcome = await ChargeInvoice.RecordOutcomeAsync(s, op, payment.Id, payment.InvoiceId, charge);
        return outcome.IsOk ? ProviderEventOutcomes.Applied : outcome.Error!;
    }

    /// <summary>
    /// A 3-D Secure attempt the customer refused or that expired: the payment becomes <c>failed</c>
    /// (<c>payment.failed</c>). The invoice is left as it is: its failed attempt, <c>invoice.payment_failed</c>
    /// and the subscription's dunning step were recorded when the charge first answered
    /// <c>requires_action</c>, and one attempt is never counted twice.
    /// </summary>
    private static async Task<Result<string>> RefuseActionAsync(IStoreSession s, OperationContext op, PaymentRecord payment, ChargeResult charge)
    {
        var failed = payment with
        {
            Status = PaymentStatuses.Failed, FailureCode = charge.FailureCode, FailureMessage = charge.FailureMessage,
            ProviderChargeId = payment.ProviderChargeId ?? charge.ProviderChargeId, SettledAt = op.Now,
        };
        await s.Payments.UpdatePaymentAsync(failed);
        await RecordAudit.Execute(s, op, EventTypes.PaymentFailed, "payment", payment.Id, ["status", "failure_code"]);
        await EmitEvent.Execute(s, op, EventTypes.PaymentFailed, "payment", payment.Id, PaymentResource.From(failed),
            new Dictionary<string, object?> { ["status"] = payment.Status });
        return ProviderEventOutcomes.Applied;
    }
}
