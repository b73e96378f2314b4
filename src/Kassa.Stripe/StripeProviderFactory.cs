using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Stripe;

namespace Kassa.Stripe;

/// <summary>
/// Makes a tenant's <see cref="StripeProvider"/> from its decrypted key. All tenants share one
/// <see cref="HttpClient"/> (its connection pool) with the configured timeout; each gets its own
/// <see cref="StripeClient"/> carrying its key.
/// </summary>
public sealed class StripeProviderFactory : IConfiguredProviderFactory, IDisposable
{
    private readonly StripeOptions _options;
    private readonly HttpClient _http;
    private readonly SystemNetHttpClient _stripeHttp;

    public StripeProviderFactory(StripeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _http = new HttpClient { Timeout = options.Timeout };
        _stripeHttp = new SystemNetHttpClient(_http, options.MaxNetworkRetries);
    }

    public string Provider => StripeProvider.ProviderName;

    public IPaymentProvider Create(Tenant tenant, string secretKey) => CreateStripe(tenant, secretKey);

    public StripeProvider CreateStripe(Tenant tenant, string secretKey) => new(Client(secretKey), tenant);

    /// <summary>A client for one Stripe key, on the shared connection pool.</summary>
    public IStripeClient Client(string secretKey) => new StripeClient(secretKey, httpClient: _stripeHttp, apiBase: _options.ApiBase);

    public void Dispose() => _http.Dispose();
}
