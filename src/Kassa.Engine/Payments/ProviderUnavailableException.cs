namespace Kassa.Engine.Payments;

/// <summary>
/// A provider call whose outcome is unknown: a timeout (the charge may have happened), a rate limit, a
/// server error, a broken connection. The attempt must stay <c>processing</c> — never <c>failed</c> —
/// so the reconcile worker calls again with the same idempotency key and records whatever the provider
/// did, exactly once.
/// </summary>
public sealed class ProviderUnavailableException : Exception
{
    public ProviderUnavailableException()
    {
    }

    public ProviderUnavailableException(string message) : base(message)
    {
    }

    public ProviderUnavailableException(string message, Exception inner) : base(message, inner)
    {
    }
}
