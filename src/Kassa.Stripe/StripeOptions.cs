namespace Kassa.Stripe;

/// <summary>How Kassa talks to Stripe. The defaults are production's; tests point <see cref="ApiBase"/> at a local fake.</summary>
public sealed class StripeOptions
{
    /// <summary>
    /// Stripe's API address (<c>KASSA_STRIPE_API_BASE</c>, for tests and development only): a fake Stripe
    /// on 127.0.0.1 in the test suite. Null is Stripe itself (<c>https://api.stripe.com</c>).
    /// </summary>
    public string? ApiBase { get; set; }

    /// <summary>
    /// How long one Stripe call may take. A call that times out leaves its attempt <c>processing</c>
    /// (the charge may have happened); the reconcile worker asks again with the same idempotency key.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Stripe.net's own retries of a failed connection or a 429/5xx (always with the same idempotency key,
    /// so they never charge twice). Tests set 0 to see a timeout leave the attempt processing.
    /// </summary>
    public int MaxNetworkRetries { get; set; } = 2;
}
