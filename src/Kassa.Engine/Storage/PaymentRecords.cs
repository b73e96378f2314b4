using Kassa.Core.Paging;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// A saved card (spec §8). <c>ProviderToken</c> is the provider's reference to it and is never
/// returned by the API; Kassa never stores the card number or the CVC.
/// </summary>
public sealed record PaymentMethodRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string Provider, string ProviderToken,
    string CardBrand, string CardLast4, int CardExpMonth, int CardExpYear, bool IsDefault, DateTimeOffset CreatedAt, DateTimeOffset? DetachedAt);

/// <summary>
/// A payment attempt. It is written (<c>processing</c>) and committed before the provider is called;
/// its id is the provider's idempotency key. <c>RequestKey</c> is the Idempotency-Key of the request
/// that began it, so a retry after a crash finds the attempt instead of starting another.
/// </summary>
public sealed record PaymentRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string? InvoiceId, long Amount, string Currency, string Status,
    string? FailureCode, string? FailureMessage, string PaymentMethodId, string Provider, string? ProviderChargeId, long AmountRefunded,
    string? Description, string? RequestKey, DateTimeOffset CreatedAt, DateTimeOffset? SettledAt);

/// <summary>A refund attempt of (part of) a payment, written (<c>pending</c>) before the provider is called, like a payment.</summary>
public sealed record RefundRecord(
    string AccountId, bool Livemode, string Id, string PaymentId, string? CreditNoteId, long Amount, string Currency, string Status,
    string? FailureCode, string? ProviderRefundId, string? RequestKey, DateTimeOffset CreatedAt, DateTimeOffset? SettledAt);

/// <summary>An attempt left unsettled, found by the reconcile worker (which works across tenants).</summary>
public sealed record UnsettledAttempt(Tenant Tenant, string Id);

public interface IPaymentStore
{
    Task InsertMethodAsync(PaymentMethodRecord method);
    /// <summary>A method, detached or not; with <paramref name="forUpdate"/> locked on PostgreSQL until the transaction ends.</summary>
    Task<PaymentMethodRecord?> GetMethodAsync(Tenant tenant, string id, bool forUpdate = false);
    /// <summary>Rewrites a method's <c>is_default</c> and <c>detached_at</c> (the only things that change).</summary>
    Task UpdateMethodAsync(PaymentMethodRecord method);
    /// <summary>A customer's attached (not detached) methods, newest first.</summary>
    Task<IReadOnlyList<PaymentMethodRecord>> ListMethodsAsync(Tenant tenant, string customerId, Cursor? after, int limit);
    /// <summary>The customer's current default method, if any.</summary>
    Task<PaymentMethodRecord?> DefaultMethodAsync(Tenant tenant, string customerId);

    Task InsertPaymentAsync(PaymentRecord payment);
    Task<PaymentRecord?> GetPaymentAsync(Tenant tenant, string id, bool forUpdate = false);
    Task<PaymentRecord?> FindPaymentByRequestKeyAsync(Tenant tenant, string requestKey);
    /// <summary>The attempt of this invoice still in flight (at most one, by a unique index).</summary>
    Task<PaymentRecord?> ProcessingPaymentOfInvoiceAsync(Tenant tenant, string invoiceId);
    /// <summary>The payment that paid this invoice (succeeded, possibly refunded in part since), or null.</summary>
    Task<PaymentRecord?> PaymentThatPaidAsync(Tenant tenant, string invoiceId);
    /// <summary>Rewrites the settled fields: status, failure, provider charge id, amount refunded, settled_at.</summary>
    Task UpdatePaymentAsync(PaymentRecord payment);
    Task<IReadOnlyList<PaymentRecord>> ListPaymentsAsync(Tenant tenant, string? customerId, Cursor? after, int limit);
    /// <summary>Payments still <c>processing</c> that were created before <paramref name="before"/>, oldest first, across tenants.</summary>
    Task<IReadOnlyList<UnsettledAttempt>> ProcessingPaymentsAsync(DateTimeOffset before, int limit);

    Task InsertRefundAsync(RefundRecord refund);
    Task<RefundRecord?> GetRefundAsync(Tenant tenant, string id, bool forUpdate = false);
    Task<RefundRecord?> FindRefundByRequestKeyAsync(Tenant tenant, string requestKey);
    Task UpdateRefundAsync(RefundRecord refund);
    /// <summary>The sum of the payment's refunds still <c>pending</c> (reserved: what is left to refund excludes them).</summary>
    Task<long> PendingRefundTotalAsync(Tenant tenant, string paymentId);
    /// <summary>Refunds still <c>pending</c> that were created before <paramref name="before"/>, oldest first, across tenants.</summary>
    Task<IReadOnlyList<UnsettledAttempt>> PendingRefundsAsync(DateTimeOffset before, int limit);
}
