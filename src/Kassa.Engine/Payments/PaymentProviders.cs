using Kassa.Engine.Common;

namespace Kassa.Engine.Payments;

/// <summary>
/// Which provider serves a tenant. Test mode uses the built-in sandbox; live mode needs a configured
/// provider (Stripe, next capability), so until one is configured it has none and charging answers an
/// error instead of pretending to collect money.
/// </summary>
public sealed class PaymentProviders(SandboxProvider sandbox)
{
    public IPaymentProvider? For(Tenant tenant) => tenant.Livemode ? null : sandbox;
}
