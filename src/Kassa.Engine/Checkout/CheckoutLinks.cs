using Kassa.Engine.Common;
using Kassa.Engine.HostedPages;

namespace Kassa.Engine.Checkout;

/// <summary>
/// The signed address of a checkout page, <c>/checkout/cs_…?token=…</c>: signed like an invoice's
/// hosted page (<see cref="HostedInvoiceLinks"/>: the server-wide key, the tenant in the token) with
/// its own purpose, so an invoice token never opens a checkout and the other way round. Whoever holds
/// the URL may pay that one session, as with Stripe's checkout links.
/// </summary>
public static class CheckoutLinks
{
    private const string Purpose = "checkout_session";

    public static string Token(Tenant tenant, string sessionId) => HostedInvoiceLinks.TokenFor(Purpose, tenant, sessionId);

    /// <summary>The relative address of the page (prefix it with the server's public address).</summary>
    public static string Url(Tenant tenant, string sessionId) => $"/checkout/{Uri.EscapeDataString(sessionId)}?token={Token(tenant, sessionId)}";

    /// <summary>The tenant the token grants the session to, or null for any token that is not exactly right.</summary>
    public static Tenant? Verify(string sessionId, string? token) => HostedInvoiceLinks.VerifyFor(Purpose, sessionId, token);
}
