using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary><c>GET /v1/providers/{provider}</c>: this account's and mode's configuration, without its secrets.</summary>
public static class GetProviderConfig
{
    public static async Task<Result<ProviderConfigResource>> Execute(IStoreSession s, Tenant tenant, string provider) =>
        await s.Providers.GetConfigAsync(tenant, provider) is { } c ? ProviderConfigResource.From(c) : KassaError.NotFound("provider_config", provider);
}
