using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>What became of a payment attempt once the provider answered (or the attempt was found already settled).</summary>
/// <param name="Status"><c>succeeded</c>, <c>failed</c> or <c>requires_action</c>.</param>
public sealed record PaymentOutcome(string PaymentId, string Status, string? FailureCode, string? FailureMessage, string? InvoiceId, string? InvoiceStatus);

/// <summary>
/// Charges an open invoice's <c>amount_due</c> in two steps so a crash can never charge twice:
/// <see cref="BeginAsync"/> writes the payment attempt inside the caller's transaction; once that has
/// committed, <see cref="CompleteAsync"/> calls the provider with the attempt's id as idempotency key and
/// records the outcome in a new transaction. CONTRACT STUB: implemented by the payments work.
/// </summary>
public static class ChargeInvoice
{
    /// <summary>In the caller's transaction: checks the invoice is open with something due and the method (given, or the customer's default) is usable, writes the attempt (<c>processing</c>) and returns its id.</summary>
    public static Task<Result<string>> BeginAsync(IStoreSession s, OperationContext op, string invoiceId, string? paymentMethodId) =>
        throw new NotImplementedException();

    /// <summary>After the attempt committed: calls the provider and records the outcome. Calling it again for a settled attempt answers the stored outcome.</summary>
    public static Task<Result<PaymentOutcome>> CompleteAsync(IKassaStore store, PaymentProviders providers, OperationContext op, string paymentId, CancellationToken ct) =>
        throw new NotImplementedException();
}
