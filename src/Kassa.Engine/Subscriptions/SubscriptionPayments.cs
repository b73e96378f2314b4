using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// What a subscription does when its invoice's payment settles. Called by the payments code inside
/// the transaction that records the outcome, for invoices with a <c>subscription_id</c>.
/// </summary>
public static class SubscriptionPayments
{
    /// <summary>The invoice is now paid: an incomplete subscription becomes active, a past-due one recovers.</summary>
    public static Task OnInvoicePaidAsync(IStoreSession s, OperationContext op, InvoiceRecord invoice) => Task.CompletedTask;

    /// <summary>A charge of the invoice failed or needs the customer (<paramref name="failureCode"/>): dunning decides what follows.</summary>
    public static Task OnInvoicePaymentFailedAsync(IStoreSession s, OperationContext op, InvoiceRecord invoice, string failureCode) => Task.CompletedTask;
}
