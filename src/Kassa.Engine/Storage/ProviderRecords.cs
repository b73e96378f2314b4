using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// A payment provider configured for one account and mode (<c>PUT /v1/providers/stripe</c>). The
/// secrets are stored only as AES-GCM ciphertexts (<see cref="Payments.SecretBox"/>); the last four
/// characters of the secret key are kept in clear so an operator can tell which key is configured.
/// </summary>
public sealed record ProviderConfigRecord(
    string AccountId, bool Livemode, string Provider, string SecretKeyCipher, string SecretKeyLast4, string? WebhookSecretCipher,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>The provider's customer made for a Kassa customer (Stripe's <c>cus_…</c>): made once, then reused.</summary>
public sealed record ProviderCustomerRecord(string AccountId, bool Livemode, string Provider, string CustomerId, string ProviderCustomerId, DateTimeOffset CreatedAt);

public interface IProviderStore
{
    Task<ProviderConfigRecord?> GetConfigAsync(Tenant tenant, string provider, bool forUpdate = false);
    /// <summary>Inserts or replaces the configuration of (tenant, provider).</summary>
    Task UpsertConfigAsync(ProviderConfigRecord config);
    /// <summary>Deletes it; false when there was none.</summary>
    Task<bool> DeleteConfigAsync(Tenant tenant, string provider);

    Task<ProviderCustomerRecord?> GetCustomerAsync(Tenant tenant, string provider, string customerId);
    Task<ProviderCustomerRecord?> FindCustomerByProviderIdAsync(Tenant tenant, string provider, string providerCustomerId);
    /// <summary>Inserts the mapping unless one exists for (tenant, provider, customer); false when another writer got there first.</summary>
    Task<bool> TryInsertCustomerAsync(ProviderCustomerRecord customer);
}
