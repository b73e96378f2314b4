using Kassa.Core.Errors;
using Kassa.Core.Money;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Checkout;

/// <summary>Everything the checkout page shows, read in the transaction that brought the session up to date.</summary>
/// <param name="Title">What is being bought, as the customer reads it: the product's name, the payment's description, or "Save a card".</param>
/// <param name="Lines">The invoice's lines (description, amount in minor units); empty for setup and a trial.</param>
/// <param name="TrialEnd">When the trial that completing starts ends (a trial that needs a card), else null.</param>
/// <param name="PendingCardLast4">The last 4 digits of the card whose charge waits for 3-D Secure, else null.</param>
/// <param name="SavedCardLast4">The card entered last on this page (for "try again"), else null.</param>
public sealed record CheckoutView(CheckoutSessionRecord Session, string Seller, string Title, IReadOnlyList<(string Description, long Amount)> Lines,
    long AmountDue, Currency? Currency, DateTimeOffset? TrialEnd, string? PendingCardLast4, string? SavedCardLast4, string? CustomerName);

/// <summary>
/// <c>GET /checkout/{id}</c>: the page's content. A write transaction, because a session opened after its expiry
/// is expired right then, and one whose invoice was paid elsewhere completes (<see cref="CheckoutRules.RefreshAsync"/>).
/// </summary>
public static class ShowCheckoutPage
{
    public static async Task<Result<CheckoutView>> Execute(IStoreSession s, OperationContext op, string id)
    {
        var session = await s.Checkout.GetAsync(op.Tenant, id);
        if (session is null) return KassaError.NotFound("checkout_session", id);
        session = await CheckoutRules.RefreshAsync(s, op, session);
        var account = await s.Accounts.GetAsync(op.Tenant.AccountId);
        var customer = await s.Customers.GetAsync(op.Tenant, session.CustomerId);
        var product = session.ProductId is { } pid ? await s.Catalog.GetProductAsync(op.Tenant, pid) : null;
        var lines = new List<(string, long)>();
        long due = 0;
        Currency? currency = null;
        if (session.InvoiceId is { } invoiceId && await s.Invoices.GetAsync(op.Tenant, invoiceId) is { } invoice)
        {
            foreach (var line in await s.Invoices.LinesAsync(op.Tenant, [invoiceId])) lines.Add((line.Description, line.Amount));
            if (invoice.Discount != 0) lines.Add(("Discount", -invoice.Discount));
            if (invoice.Tax != 0) lines.Add(("Tax", invoice.Tax));
            due = invoice.Status == Invoices.InvoiceRules.Paid ? invoice.AmountPaid : invoice.AmountDue;
            currency = Currencies.TryGet(invoice.Currency, out var c) ? c : null;
        }
        DateTimeOffset? trialEnd = null;
        if (session.InvoiceId is null && session.SubscriptionId is { } subId && await s.Subscriptions.GetAsync(op.Tenant, subId) is { } sub) trialEnd = sub.TrialEnd;
        var title = product?.Name ?? session.Description ?? (session.Mode == CheckoutRules.ModeSetup ? "Save a card" : "Payment");
        var pending = session.PendingPaymentId is { } pp && await s.Payments.GetPaymentAsync(op.Tenant, pp) is { } payment
            ? (await s.Payments.GetMethodAsync(op.Tenant, payment.PaymentMethodId))?.CardLast4 : null;
        var saved = session.PaymentMethodId is { } pm ? await s.Payments.GetMethodAsync(op.Tenant, pm) : null;
        return new CheckoutView(session, account?.Name ?? "", title, lines, due, currency, trialEnd, pending,
            saved is { DetachedAt: null } ? saved.CardLast4 : null, customer?.Name);
    }
}
