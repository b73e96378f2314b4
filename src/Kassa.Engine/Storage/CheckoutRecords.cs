using Kassa.Core.Paging;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// A hosted checkout session (spec §8). <c>FormNonce</c> is the per-session secret the page's forms
/// echo (never returned by the API); <c>PendingPaymentId</c> names a charge that answered 3-D Secure
/// and waits for the customer's confirmation on the page; <c>LastFailureCode</c> is why the last
/// attempt on the page did not pay, shown to the customer.
/// </summary>
public sealed record CheckoutSessionRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string Mode, string Status, string? ProductId, long? Quantity,
    long AmountTotal, string? Currency, string? Description, string? InvoiceId, string? SubscriptionId, string? PaymentId, string? PendingPaymentId,
    string? PaymentMethodId, string? LastFailureCode, string? SuccessUrl, string? CancelUrl, string FormNonce, DateTimeOffset ExpiresAt,
    DateTimeOffset? CompletedAt, DateTimeOffset CreatedAt)
{
    public Tenant Tenant => new(AccountId, Livemode);
}

public interface ICheckoutStore
{
    Task InsertAsync(CheckoutSessionRecord session);
    /// <summary>A session; with <paramref name="forUpdate"/> locked on PostgreSQL until the transaction ends.</summary>
    Task<CheckoutSessionRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false);
    /// <summary>Rewrites everything that changes: status, bindings, payment fields, failure, completed_at.</summary>
    Task UpdateAsync(CheckoutSessionRecord session);
    /// <summary>The open session bound to this invoice (at most one, by a unique index).</summary>
    Task<CheckoutSessionRecord?> OpenForInvoiceAsync(Tenant tenant, string invoiceId);
    /// <summary>The open session bound to this subscription without an invoice (a trial that needs a card).</summary>
    Task<CheckoutSessionRecord?> OpenForSubscriptionAsync(Tenant tenant, string subscriptionId);
    /// <summary>Sessions newest first, optionally of one customer.</summary>
    Task<IReadOnlyList<CheckoutSessionRecord>> ListAsync(Tenant tenant, string? customerId, Cursor? after, int limit);
    /// <summary>Open sessions whose expiry is at or before <paramref name="now"/>, soonest first, across tenants.</summary>
    Task<IReadOnlyList<(Tenant Tenant, string Id)>> DueToExpireAsync(DateTimeOffset now, int limit);

    /// <summary>The provider session (Stripe Checkout) opened for this Kassa session, if any.</summary>
    Task<CheckoutProviderSession?> GetProviderSessionAsync(Tenant tenant, string checkoutSessionId);
    /// <summary>Remembers the provider session; false (and nothing written) when one is remembered already.</summary>
    Task<bool> TryInsertProviderSessionAsync(CheckoutProviderSession session);
}

/// <summary>A checkout a provider hosts for a Kassa session: Kassa's page sends the customer to <c>Url</c>.</summary>
public sealed record CheckoutProviderSession(string AccountId, bool Livemode, string CheckoutSessionId, string Provider, string ProviderSessionId, string Url,
    DateTimeOffset CreatedAt);
