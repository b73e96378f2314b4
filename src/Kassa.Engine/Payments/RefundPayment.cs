using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>What became of a refund attempt. <c>Status</c>: <c>succeeded</c>, <c>failed</c>.</summary>
public sealed record RefundOutcome(string RefundId, string PaymentId, long Amount, string Status, string? FailureCode);

/// <summary>
/// Refunds (part of) a succeeded payment in two steps like <see cref="ChargeInvoice"/>: the refund
/// attempt is written in the caller's transaction (never above what is left to refund), then the
/// provider is called with its id as idempotency key. CONTRACT STUB: implemented by the payments work.
/// </summary>
public static class RefundPayment
{
    /// <summary>In the caller's transaction: writes the refund attempt (<c>pending</c>) for <paramref name="amount"/> (null: all that is left) and returns its id.</summary>
    public static Task<Result<string>> BeginAsync(IStoreSession s, OperationContext op, string paymentId, long? amount, string? creditNoteId) =>
        throw new NotImplementedException();

    public static Task<Result<RefundOutcome>> CompleteAsync(IKassaStore store, PaymentProviders providers, OperationContext op, string refundId, CancellationToken ct) =>
        throw new NotImplementedException();
}
