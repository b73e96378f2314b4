using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Checkout;

/// <summary>
/// A hosted checkout session as the API shows it (spec §8), shaped like Stripe's: <c>url</c> opens the
/// page without an API key; <c>status</c> is <c>open</c>, <c>complete</c> or <c>expired</c>. The form
/// nonce and the pending 3-D Secure attempt are the page's business and never shown.
/// </summary>
public sealed record CheckoutSessionResource(
    string Id, string Url, string Status, string Mode, string CustomerId, string? ProductId, long AmountTotal, string? Currency, string? InvoiceId,
    string? SubscriptionId, string? PaymentId, string? PaymentMethodId, string? SuccessUrl, string? CancelUrl, DateTimeOffset ExpiresAt,
    DateTimeOffset? CompletedAt, DateTimeOffset CreatedAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "checkout_session";

    public static CheckoutSessionResource From(CheckoutSessionRecord c) =>
        new(c.Id, CheckoutLinks.Url(c.Tenant, c.Id), c.Status, c.Mode, c.CustomerId, c.ProductId, c.AmountTotal, c.Currency, c.InvoiceId, c.SubscriptionId,
            c.PaymentId, c.PaymentMethodId, c.SuccessUrl, c.CancelUrl, c.ExpiresAt, c.CompletedAt, c.CreatedAt, c.Livemode);
}
