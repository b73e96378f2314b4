using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Ledger;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Ledger;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ProviderWebhooks;

/// <summary>
/// A provider's <see cref="ChargeRefunded"/>. A refund Kassa asked for and still <c>pending</c> is settled
/// through <see cref="RefundPayment.RecordOutcomeAsync"/>. A refund made in the provider's dashboard (no
/// Kassa refund id) becomes a refund row of its own, with its entry (DR 4950 / CR 1000) and
/// <c>payment.refunded</c>, once: the provider refund id is unique per tenant, and it is checked with the
/// payment locked, so two events of one refund cannot both record it. A refund of a charge Kassa does not
/// know is recorded only (<see cref="ProviderEventOutcomes.UnknownPayment"/>).
/// </summary>
public static class ApplyProviderRefund
{
    public static async Task<Result<string>> Execute(IStoreSession s, OperationContext op, string provider, ChargeRefunded e)
    {
        if (e.RefundId is not null && await s.Payments.GetRefundAsync(op.Tenant, e.RefundId) is { } ours)
        {
            if (ours.Status != PaymentStatuses.RefundPending) return ProviderEventOutcomes.AlreadySettled;
            if (ours.Amount != e.Amount || !string.Equals(ours.Currency, e.Currency, StringComparison.OrdinalIgnoreCase)) return ProviderEventOutcomes.AmountMismatch;
            var settled = await RefundPayment.RecordOutcomeAsync(s, op, ours.Id, ours.PaymentId, new RefundResult(true, e.ProviderRefundId, null));
            return settled.IsOk ? ProviderEventOutcomes.Applied : settled.Error!;
        }

        var found = await ApplyChargeEvent.FindAsync(s, op.Tenant, provider, null, e.ProviderChargeId);
        if (found is null) return ProviderEventOutcomes.UnknownPayment;
        // The payment lock serialises every refund of the payment (RefundPayment takes it too).
        var payment = (await s.Payments.GetPaymentAsync(op.Tenant, found.Id, forUpdate: true))!;
        if (await s.ProviderEvents.RefundIdByProviderRefundAsync(op.Tenant, e.ProviderRefundId) is not null) return ProviderEventOutcomes.AlreadyRecorded;
        if (!string.Equals(payment.Currency, e.Currency, StringComparison.OrdinalIgnoreCase)) return ProviderEventOutcomes.AmountMismatch;
        if (payment.Status is not (PaymentStatuses.Succeeded or PaymentStatuses.PartiallyRefunded) || e.Amount <= 0
            || e.Amount > payment.Amount - payment.AmountRefunded)
            return ProviderEventOutcomes.NotRefundable;

        var refund = new RefundRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.Refund), payment.Id, null, e.Amount, payment.Currency,
            PaymentStatuses.RefundSucceeded, null, e.ProviderRefundId, null, op.Now, op.Now);
        await s.Payments.InsertRefundAsync(refund);
        await RecordAudit.Execute(s, op, "refund.succeeded", "refund", refund.Id, ["payment_id", "amount", "provider_refund_id"]);
        var refunded = checked(payment.AmountRefunded + refund.Amount);
        var updated = payment with { AmountRefunded = refunded, Status = refunded >= payment.Amount ? PaymentStatuses.Refunded : PaymentStatuses.PartiallyRefunded };
        await s.Payments.UpdatePaymentAsync(updated);
        await PostJournalEntry.Execute(s, op, Postings.Refunded(refund.Id, refund.Currency, refund.Amount),
            $"Refund {refund.Id} of payment {payment.Id} (made at {provider})", payment.CustomerId);
        await RecordAudit.Execute(s, op, EventTypes.PaymentRefunded, "payment", payment.Id, ["status", "amount_refunded"]);
        await EmitEvent.Execute(s, op, EventTypes.PaymentRefunded, "payment", payment.Id, PaymentResource.From(updated),
            new Dictionary<string, object?> { ["status"] = payment.Status, ["amount_refunded"] = payment.AmountRefunded });
        return ProviderEventOutcomes.Applied;
    }
}
