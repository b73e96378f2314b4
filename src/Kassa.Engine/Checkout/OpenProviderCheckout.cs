using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Checkout;

/// <summary>
/// The checkout page of a tenant whose provider hosts its own card form (Stripe Checkout): Kassa's session
/// stays the one the API, the subscribe flow and the events speak of, and its page sends the customer to
/// the provider's. The provider session is opened the first time the page is opened — not when the Kassa
/// session is made, so a session made while the provider was unreachable still works once it is back — with
/// the Kassa session id as its idempotency key (two tabs, two nodes: one provider session), and remembered.
/// A session that charges (an invoice with something due) opens a <c>payment</c> session for the invoice's
/// <c>amount_due</c>; setup mode and a trial that needs a card open a <c>setup</c> session.
/// </summary>
public static class OpenProviderCheckout
{
    /// <summary>Stripe refuses a Checkout Session that expires sooner than this; a Kassa session opened later than that gets this much.</summary>
    public static readonly TimeSpan ProviderLifetimeMin = TimeSpan.FromMinutes(31);

    /// <param name="pageUrl">The absolute address of Kassa's own page for this session: where the provider returns the customer when the merchant gave no URL.</param>
    public static async Task<Result<string>> Execute(IKassaStore store, IPaymentProvider provider, OperationContext op, CheckoutView view, string pageUrl,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(view);
        if (provider is not IHostedCheckoutProvider hosted)
            return new KassaError(ErrorCodes.Unsupported, $"The '{provider?.Name}' provider has no checkout page of its own");
        var session = view.Session;
        if (await store.ReadAsync(s => s.Checkout.GetProviderSessionAsync(op.Tenant, session.Id), ct) is { } known) return known.Url;

        var charges = session.InvoiceId is not null && view.AmountDue > 0 && view.Currency is not null;
        // A provider session that outlives Kassa's is harmless: a completion after Kassa's session expired is
        // still recorded, and money paid for a voided invoice becomes customer credit (CompleteProviderCheckout).
        var expiresAt = session.ExpiresAt < op.Now + ProviderLifetimeMin ? op.Now + ProviderLifetimeMin : session.ExpiresAt;
        var request = new HostedCheckoutRequest(op.Tenant, session.Id, session.CustomerId, charges ? "payment" : "setup",
            charges ? view.AmountDue : null, charges ? view.Currency!.Code : null, view.Title,
            CheckoutRules.SuccessRedirect(session) ?? pageUrl, session.CancelUrl ?? pageUrl, expiresAt, session.Id);
        var started = await hosted.StartHostedCheckoutAsync(store, request, ct);
        if (!started.IsOk) return started.Error!;
        var row = new CheckoutProviderSession(op.Tenant.AccountId, op.Tenant.Livemode, session.Id, provider.Name, started.Value.ProviderSessionId,
            started.Value.Url, op.Now);
        // The first writer wins; a concurrent opener got the same provider session by the idempotency key anyway.
        return await store.WriteAsync(async s =>
        {
            await s.Checkout.TryInsertProviderSessionAsync(row);
            return (await s.Checkout.GetProviderSessionAsync(op.Tenant, session.Id))!.Url;
        }, ct: ct);
    }
}
