using Kassa.Engine.Payments;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>
/// Payment provider configuration per account and mode (issue 13: Stripe). The secrets go in and never
/// come out: the answer shows the secret key's last four characters, whether a webhook secret is set, and
/// the webhook URL to register at the provider. The webhook route itself is mapped with the provider-events
/// pipeline, not here.
/// </summary>
public static class ProviderEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Providers";
        v1.MapPut("/providers/{provider}", async (HttpContext http, Api api, PaymentProviders providers, SecretBox secrets, string provider) =>
            {
                await api.Mutate<ConfigureProvider.Request, ProviderConfigResource>(http, (s, op, b) => ConfigureProvider.Execute(s, op, providers, secrets, provider, b),
                    c => new Reply(StatusCodes.Status200OK, c));
                // After the commit: this node serves the new keys at once, other nodes within the cache TTL.
                providers.Invalidate(http.Principal().Tenant);
            })
            .Doc("configureProvider", "Set this account's and mode's provider keys (stripe: secret_key sk_test_… in test mode, sk_live_… in live mode; webhook_secret whsec_…); encrypted at rest, never answered", tag)
            .Body<ConfigureProvider.Request>().Produces<ProviderConfigResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapGet("/providers/{provider}", (HttpContext http, Api api, string provider) => api.Read(http, (s, t) => GetProviderConfig.Execute(s, t, provider)))
            .Doc("getProviderConfig", "This account's and mode's provider configuration, without its secrets", tag)
            .Produces<ProviderConfigResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapDelete("/providers/{provider}", async (HttpContext http, Api api, PaymentProviders providers, string provider) =>
            {
                await api.Mutate(http, (s, op) => DeleteProviderConfig.Execute(s, op, provider), c => new Reply(StatusCodes.Status200OK, c));
                providers.Invalidate(http.Principal().Tenant);
            })
            .Doc("deleteProviderConfig", "Forget this account's and mode's provider keys; answers the configuration as it was", tag)
            .Produces<ProviderConfigResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
    }
}
