using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Ledger;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Ledger;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>What became of a refund attempt. <c>Status</c>: <c>succeeded</c>, <c>failed</c>.</summary>
public sealed record RefundOutcome(string RefundId, string PaymentId, long Amount, string Status, string? FailureCode);

/// <summary>
/// Refunds (part of) a succeeded payment in two steps like <see cref="ChargeInvoice"/>: the refund
/// attempt is written in the caller's transaction (never above what is left to refund), then the
/// provider is called with its id as idempotency key. CONTRACT STUB: implemented by the payments work.
/// A refund with a <c>creditNoteId</c> is that credit note's money leaving: its entry (DR 4950 / CR 1000)
/// is the only one posted for it.
/// </summary>
public static class RefundPayment
{
    /// <summary>In the caller's transaction: writes the refund attempt (<c>pending</c>) for <paramref name="amount"/> (null: all that is left) and returns its id.</summary>
    public static Task<Result<string>> BeginAsync(IStoreSession s, OperationContext op, string paymentId, long? amount, string? creditNoteId) =>
        BeginAsync(s, op, paymentId, amount, creditNoteId, requestKey: null);

    /// <summary>As the overload above, remembering the request's Idempotency-Key so a retry after a crash finds this refund.</summary>
    public static async Task<Result<string>> BeginAsync(IStoreSession s, OperationContext op, string paymentId, long? amount, string? creditNoteId, string? requestKey)
    {
        if (amount is <= 0) return KassaError.Validation("amount", "must be a positive whole number of minor units");
        if (requestKey is not null && await s.Payments.FindRefundByRequestKeyAsync(op.Tenant, requestKey) is { } earlier)
        {
            return earlier.PaymentId == paymentId
                ? earlier.Id
                : new KassaError(ErrorCodes.IdempotencyKeyReused, "This Idempotency-Key already began a refund of another payment");
        }
        // The payment lock serialises refunds of one payment, so two cannot both take what is left.
        var payment = await s.Payments.GetPaymentAsync(op.Tenant, paymentId, forUpdate: true);
        if (payment is null) return KassaError.NotFound("payment", paymentId);
        if (payment.Status is not (PaymentStatuses.Succeeded or PaymentStatuses.PartiallyRefunded or PaymentStatuses.Refunded))
            return KassaError.InvalidState($"Payment '{payment.Id}' is {payment.Status}; only a succeeded payment can be refunded");
        var left = payment.Amount - payment.AmountRefunded - await s.Payments.PendingRefundTotalAsync(op.Tenant, payment.Id);
        if (left <= 0) return new KassaError(ErrorCodes.RefundExceedsPayment, $"Payment '{payment.Id}' has nothing left to refund", "amount");
        var take = amount ?? left;
        if (take > left) return new KassaError(ErrorCodes.RefundExceedsPayment, $"At most {left} of payment '{payment.Id}' is left to refund", "amount");

        var refund = new RefundRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.Refund), payment.Id, creditNoteId, take, payment.Currency,
            PaymentStatuses.RefundPending, null, null, requestKey, op.Now, null);
        await s.Payments.InsertRefundAsync(refund);
        await RecordAudit.Execute(s, op, "refund.created", "refund", refund.Id, ["payment_id", "amount"]);
        return refund.Id;
    }

    public static async Task<Result<RefundOutcome>> CompleteAsync(IKassaStore store, PaymentProviders providers, OperationContext op, string refundId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(providers);
        var (refund, payment) = await store.ReadAsync(async s =>
        {
            var r = await s.Payments.GetRefundAsync(op.Tenant, refundId);
            return (r, r is null ? null : await s.Payments.GetPaymentAsync(op.Tenant, r.PaymentId));
        }, ct);
        if (refund is null || payment is null) return KassaError.NotFound("refund", refundId);
        if (refund.Status != PaymentStatuses.RefundPending) return Outcome(refund);

        // The refund's id is the provider's idempotency key, as a payment's is for its charge.
        RefundResult result;
        try
        {
            var provider = await providers.NamedAsync(op.Tenant, payment.Provider, ct);
            result = provider is null || payment.ProviderChargeId is null
                ? new RefundResult(false, "", "provider_unavailable")
                : await provider.RefundAsync(payment.ProviderChargeId, refund.Amount, refund.Currency, refund.Id, ct);
        }
        catch (ProviderUnavailableException)
        {
            // Outcome unknown: the refund stays pending; the reconcile worker asks again with the same key.
            return Outcome(refund);
        }
        return await store.WriteAsync(s => RecordOutcomeAsync(s, op, refund.Id, payment.Id, result), r => r.IsOk, CancellationToken.None);
    }

    /// <summary>The outcome transaction: payment locked first (as in <c>BeginAsync</c>), then the refund; nothing happens when it was settled already.</summary>
    internal static async Task<Result<RefundOutcome>> RecordOutcomeAsync(IStoreSession s, OperationContext op, string refundId, string paymentId, RefundResult result)
    {
        var payment = (await s.Payments.GetPaymentAsync(op.Tenant, paymentId, forUpdate: true))!;
        var refund = (await s.Payments.GetRefundAsync(op.Tenant, refundId, forUpdate: true))!;
        if (refund.Status != PaymentStatuses.RefundPending) return Outcome(refund);

        var settled = refund with
        {
            Status = result.Succeeded ? PaymentStatuses.RefundSucceeded : PaymentStatuses.RefundFailed, FailureCode = result.FailureCode,
            ProviderRefundId = result.ProviderRefundId.Length == 0 ? null : result.ProviderRefundId, SettledAt = op.Now,
        };
        await s.Payments.UpdateRefundAsync(settled);
        await RecordAudit.Execute(s, op, "refund." + settled.Status, "refund", settled.Id, ["status", "provider_refund_id"]);
        if (result.Succeeded)
        {
            var refunded = checked(payment.AmountRefunded + settled.Amount);
            var updated = payment with
            {
                AmountRefunded = refunded, Status = refunded >= payment.Amount ? PaymentStatuses.Refunded : PaymentStatuses.PartiallyRefunded,
            };
            await s.Payments.UpdatePaymentAsync(updated);
            await PostJournalEntry.Execute(s, op, Postings.Refunded(settled.Id, settled.Currency, settled.Amount),
                $"Refund {settled.Id} of payment {payment.Id}", payment.CustomerId);
            await RecordAudit.Execute(s, op, EventTypes.PaymentRefunded, "payment", payment.Id, ["status", "amount_refunded"]);
            await EmitEvent.Execute(s, op, EventTypes.PaymentRefunded, "payment", payment.Id, PaymentResource.From(updated),
                new Dictionary<string, object?> { ["status"] = payment.Status, ["amount_refunded"] = payment.AmountRefunded });
        }
        return Outcome(settled);
    }

    private static RefundOutcome Outcome(RefundRecord r) => new(r.Id, r.PaymentId, r.Amount, r.Status, r.FailureCode);
}
