using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CreditNotes;

/// <summary>
/// The payment that paid an invoice, which a credit note with <c>refund: "payment"</c> refunds through
/// <see cref="Payments.RefundPayment.BeginAsync"/>; null for an invoice no payment paid (settled by
/// customer credit, say), which such a credit note refuses with <c>409 invalid_state</c>.
/// </summary>
public static class FindInvoicePayment
{
    public static async Task<string?> Execute(IStoreSession s, Tenant tenant, string invoiceId) =>
        (await s.Payments.PaymentThatPaidAsync(tenant, invoiceId))?.Id;
}
