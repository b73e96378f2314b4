using Dapper;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

internal sealed class SqlProviders(SqlSession s) : IProviderStore
{
    private const string ConfigColumns = "account_id, livemode, provider, secret_key_cipher, secret_key_last4, webhook_secret_cipher, created_at, updated_at";
    private const string CustomerColumns = "account_id, livemode, provider, customer_id, provider_customer_id, created_at";

    public async Task<ProviderConfigRecord?> GetConfigAsync(Tenant tenant, string provider, bool forUpdate = false)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(
            $"SELECT {ConfigColumns} FROM provider_configs WHERE account_id = @AccountId AND livemode = @Livemode AND provider = @provider{(forUpdate ? s.Dialect.ForUpdate : "")}",
            new { tenant.AccountId, tenant.Livemode, provider }, s.Transaction);
        if (!await r.ReadAsync()) return null;
        return new ProviderConfigRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
            Micros.To(r.GetInt64(6)), Micros.To(r.GetInt64(7)));
    }

    public Task UpsertConfigAsync(ProviderConfigRecord c) =>
        s.Connection.ExecuteAsync($"""
            INSERT INTO provider_configs ({ConfigColumns}) VALUES (@AccountId, @Livemode, @Provider, @SecretKeyCipher, @SecretKeyLast4, @WebhookSecretCipher, @created, @updated)
            ON CONFLICT (account_id, livemode, provider) DO UPDATE SET secret_key_cipher = excluded.secret_key_cipher,
              secret_key_last4 = excluded.secret_key_last4, webhook_secret_cipher = excluded.webhook_secret_cipher, updated_at = excluded.updated_at
            """, new
        {
            c.AccountId, c.Livemode, c.Provider, c.SecretKeyCipher, c.SecretKeyLast4, c.WebhookSecretCipher,
            created = Micros.From(c.CreatedAt), updated = Micros.From(c.UpdatedAt),
        }, s.Transaction);

    public async Task<bool> DeleteConfigAsync(Tenant tenant, string provider) =>
        await s.Connection.ExecuteAsync("DELETE FROM provider_configs WHERE account_id = @AccountId AND livemode = @Livemode AND provider = @provider",
            new { tenant.AccountId, tenant.Livemode, provider }, s.Transaction) > 0;

    public Task<ProviderCustomerRecord?> GetCustomerAsync(Tenant tenant, string provider, string customerId) =>
        Customer($"SELECT {CustomerColumns} FROM provider_customers WHERE account_id = @AccountId AND livemode = @Livemode AND provider = @provider AND customer_id = @id",
            new { tenant.AccountId, tenant.Livemode, provider, id = customerId });

    public Task<ProviderCustomerRecord?> FindCustomerByProviderIdAsync(Tenant tenant, string provider, string providerCustomerId) =>
        Customer($"""
            SELECT {CustomerColumns} FROM provider_customers
            WHERE account_id = @AccountId AND livemode = @Livemode AND provider = @provider AND provider_customer_id = @id
            """, new { tenant.AccountId, tenant.Livemode, provider, id = providerCustomerId });

    public async Task<bool> TryInsertCustomerAsync(ProviderCustomerRecord c) =>
        await s.Connection.ExecuteAsync($"""
            INSERT INTO provider_customers ({CustomerColumns}) VALUES (@AccountId, @Livemode, @Provider, @CustomerId, @ProviderCustomerId, @created)
            ON CONFLICT DO NOTHING
            """, new { c.AccountId, c.Livemode, c.Provider, c.CustomerId, c.ProviderCustomerId, created = Micros.From(c.CreatedAt) }, s.Transaction) > 0;

    private async Task<ProviderCustomerRecord?> Customer(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        if (!await r.ReadAsync()) return null;
        return new ProviderCustomerRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), Micros.To(r.GetInt64(5)));
    }
}
