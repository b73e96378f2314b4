using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CreditNotes;

/// <summary>
/// Issues a credit note against a finalized invoice inside the caller's transaction (used by
/// <c>POST /v1/credit_notes</c> and by canceling a subscription now with a refund). With
/// <c>refund: "credit"</c> the amount goes to the customer's credit balance; with <c>"payment"</c> a
/// refund attempt is written in the same transaction and returned, for the caller to complete with
/// <see cref="Payments.RefundPayment.CompleteAsync"/> after the commit. CONTRACT STUB: implemented by
/// the credit notes work.
/// </summary>
public static class IssueCreditNote
{
    /// <param name="Refund"><c>credit</c> or <c>payment</c>.</param>
    public sealed record Issued(string CreditNoteId, long Amount, string Refund, string? RefundId);

    public static Task<Result<Issued>> Execute(IStoreSession s, OperationContext op, string invoiceId, long amount, string reason, string refund) =>
        throw new NotImplementedException();
}
