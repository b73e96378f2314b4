using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// A provider configuration as the API shows it: never a secret, only the secret key's last four
/// characters and whether a webhook secret is set. <c>webhook_url</c> is the path to register at the
/// provider (prefixed with the server's public address): it names the tenant, because deliveries carry
/// no Kassa API key.
/// </summary>
public sealed record ProviderConfigResource(
    string Provider, bool Livemode, string SecretKeyLast4, bool WebhookSecretSet, string WebhookUrl, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "provider_config";

    public static ProviderConfigResource From(ProviderConfigRecord c) =>
        new(c.Provider, c.Livemode, c.SecretKeyLast4, c.WebhookSecretCipher is not null, WebhookPath(c.Provider, c.AccountId, c.Livemode), c.CreatedAt, c.UpdatedAt);

    /// <summary>Where the provider posts its events for this tenant (the webhook pipeline routes by these query parameters).</summary>
    public static string WebhookPath(string provider, string accountId, bool livemode) =>
        $"/v1/providers/{provider}/webhooks?account_id={Uri.EscapeDataString(accountId)}&livemode={(livemode ? "true" : "false")}";
}
