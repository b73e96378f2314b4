using Kassa.Engine.Common;

namespace Kassa.Engine.Payments;

/// <summary>
/// Which provider serves a tenant. Test mode uses the built-in sandbox; live mode needs a configured
/// provider (Stripe, next capability), so until one is configured it has none and charging answers an
/// error instead of pretending to collect money.
/// </summary>
public sealed class PaymentProviders
{
    private readonly IPaymentProvider _testMode;

    public PaymentProviders(SandboxProvider sandbox) => _testMode = sandbox;

    /// <summary>
    /// Serves test mode with another provider: for tests that wrap the sandbox to inject a fault (a
    /// charge that happens and then loses its answer). Dependency injection uses the constructor above,
    /// since no <see cref="IPaymentProvider"/> is registered.
    /// </summary>
    public PaymentProviders(IPaymentProvider testMode) => _testMode = testMode;

    public IPaymentProvider? For(Tenant tenant) => tenant.Livemode ? null : _testMode;
}
