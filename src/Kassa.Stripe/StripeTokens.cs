namespace Kassa.Stripe;

/// <summary>
/// The method token Kassa stores for a Stripe card: <c>cus_…/pm_…</c>, the Stripe customer and the
/// PaymentMethod attached to it. An off-session PaymentIntent must name both (Stripe refuses a saved
/// method without its customer), so the token carries both and a charge needs no lookup. Stripe ids
/// never contain <c>/</c>, so the split is unambiguous.
/// </summary>
public static class StripeTokens
{
    public static string Make(string customerId, string paymentMethodId) => $"{customerId}/{paymentMethodId}";

    public static bool TryParse(string token, out string customerId, out string paymentMethodId)
    {
        var parts = (token ?? "").Split('/');
        if (parts.Length == 2 && parts[0].StartsWith("cus_", StringComparison.Ordinal) && parts[1].StartsWith("pm_", StringComparison.Ordinal))
        {
            (customerId, paymentMethodId) = (parts[0], parts[1]);
            return true;
        }
        (customerId, paymentMethodId) = ("", "");
        return false;
    }
}
