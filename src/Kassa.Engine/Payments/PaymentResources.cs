using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>The card of a payment method as the API shows it: never the number or the CVC.</summary>
public sealed record CardResource(string Brand, string Last4, int ExpMonth, int ExpYear);

/// <summary>A saved payment method (spec §8). The provider's token is never shown.</summary>
public sealed record PaymentMethodResource(
    string Id, string CustomerId, string Provider, CardResource Card, bool IsDefault, DateTimeOffset CreatedAt, DateTimeOffset? DetachedAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "payment_method";
    [JsonPropertyOrder(-1)] public string Type => "card";

    public static PaymentMethodResource From(PaymentMethodRecord m) =>
        new(m.Id, m.CustomerId, m.Provider, new CardResource(m.CardBrand, m.CardLast4, m.CardExpMonth, m.CardExpYear), m.IsDefault, m.CreatedAt, m.DetachedAt, m.Livemode);
}

/// <summary>
/// A payment (spec §8): <c>status</c> is <c>processing</c> while the provider has not answered, then
/// <c>succeeded</c>, <c>failed</c> or <c>requires_action</c>; refunds turn a succeeded payment
/// <c>partially_refunded</c> or <c>refunded</c>.
/// </summary>
public sealed record PaymentResource(
    string Id, string CustomerId, string? InvoiceId, long Amount, string Currency, string Status, string? FailureCode, string? FailureMessage,
    string PaymentMethodId, string Provider, string? ProviderChargeId, long AmountRefunded, string? Description,
    DateTimeOffset CreatedAt, DateTimeOffset? SettledAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "payment";

    /// <summary>
    /// The payment's newest dispute (issue 13), or null. Filled by the payment reads (<c>GET</c>, lists);
    /// a <c>dispute.*</c> event carries the dispute itself, which names the payment.
    /// </summary>
    public string? DisputeId { get; init; }

    public static PaymentResource From(PaymentRecord p) =>
        new(p.Id, p.CustomerId, p.InvoiceId, p.Amount, p.Currency, p.Status, p.FailureCode, p.FailureMessage, p.PaymentMethodId, p.Provider,
            p.ProviderChargeId, p.AmountRefunded, p.Description, p.CreatedAt, p.SettledAt, p.Livemode);
}

/// <summary>A refund of (part of) a payment: <c>pending</c> until the provider answers, then <c>succeeded</c> or <c>failed</c>.</summary>
public sealed record RefundResource(
    string Id, string PaymentId, string? CreditNoteId, long Amount, string Currency, string Status, string? FailureCode, string? ProviderRefundId,
    DateTimeOffset CreatedAt, DateTimeOffset? SettledAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "refund";

    public static RefundResource From(RefundRecord r) =>
        new(r.Id, r.PaymentId, r.CreditNoteId, r.Amount, r.Currency, r.Status, r.FailureCode, r.ProviderRefundId, r.CreatedAt, r.SettledAt, r.Livemode);
}

/// <summary>The statuses of payments and refunds.</summary>
public static class PaymentStatuses
{
    public const string Processing = "processing";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string RequiresAction = "requires_action";
    public const string Refunded = "refunded";
    public const string PartiallyRefunded = "partially_refunded";

    public const string RefundPending = "pending";
    public const string RefundSucceeded = "succeeded";
    public const string RefundFailed = "failed";
}
