using Kassa.Engine.Common;

namespace Kassa.Engine.Payments;

/// <summary>
/// Makes the provider a tenant configured (<c>PUT /v1/providers/{provider}</c>) from its decrypted
/// secret key. Implemented outside the engine (Stripe in <c>Kassa.Stripe</c>), so the engine never
/// depends on a provider's SDK.
/// </summary>
public interface IConfiguredProviderFactory
{
    /// <summary>The provider's name (<c>stripe</c>), as in the path and on payment rows.</summary>
    string Provider { get; }

    IPaymentProvider Create(Tenant tenant, string secretKey);
}
