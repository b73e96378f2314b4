using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CreditNotes;

/// <summary>
/// The succeeded payment of a paid invoice, which a credit note with <c>refund: "payment"</c> refunds
/// through <see cref="Payments.RefundPayment.BeginAsync"/>. The payments table belongs to the payments
/// work, which is merged separately: until it answers this lookup, no payment is found and such a
/// credit note is refused with <c>409 invalid_state</c> (nothing is written). To be wired at the merge.
/// </summary>
public static class FindInvoicePayment
{
    public static Task<string?> Execute(IStoreSession s, Tenant tenant, string invoiceId) => Task.FromResult<string?>(null);
}
