using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// <c>PUT /v1/providers/{provider}</c>: sets this account's and mode's provider keys (Stripe's secret key and
/// webhook signing secret). A key must belong to the mode of the Kassa key that sends it — <c>sk_test_…</c>
/// only in test mode, <c>sk_live_…</c> only in live mode — so a test integration can never move real
/// money. The secrets are encrypted before they are written (<see cref="SecretBox"/>) and never answered;
/// the audit row names the fields, never their values. Replacing a configuration keeps its
/// <c>created_at</c>.
/// </summary>
public static class ConfigureProvider
{
    public sealed record Request(string? SecretKey, string? WebhookSecret);

    /// <summary>Longer than any key Stripe issues; a bound on what is encrypted and stored.</summary>
    public const int SecretLengthMax = 255;

    /// <summary>The length of <c>sk_test_</c>, <c>sk_live_</c>, <c>rk_test_</c> and <c>rk_live_</c>.</summary>
    private const int PrefixLength = 8;

    public static async Task<Result<ProviderConfigResource>> Execute(IStoreSession s, OperationContext op, PaymentProviders providers, SecretBox secrets,
        string provider, Request r)
    {
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentNullException.ThrowIfNull(secrets);
        if (!providers.Configurable.Contains(provider)) return KassaError.NotFound("provider", provider);
        if (r.SecretKey is null) return KassaError.Missing("secret_key");
        if (Problem(r.SecretKey) is { } keyProblem) return KassaError.Validation("secret_key", keyProblem);
        var mode = r.SecretKey.StartsWith("sk_test_", StringComparison.Ordinal) || r.SecretKey.StartsWith("rk_test_", StringComparison.Ordinal) ? false
            : r.SecretKey.StartsWith("sk_live_", StringComparison.Ordinal) || r.SecretKey.StartsWith("rk_live_", StringComparison.Ordinal) ? true
            : (bool?)null;
        if (mode is null) return KassaError.Validation("secret_key", "must be a Stripe secret key (sk_test_… or sk_live_…, or a restricted rk_… key)");
        if (r.SecretKey.Length < PrefixLength + 4) return KassaError.Validation("secret_key", "is only a prefix; paste the whole key");
        if (mode != op.Tenant.Livemode)
        {
            return new KassaError(ErrorCodes.LivemodeMismatch, op.Tenant.Livemode
                ? "A live-mode Kassa key needs a live Stripe key (sk_live_…)"
                : "A test-mode Kassa key needs a test Stripe key (sk_test_…)", "secret_key");
        }
        if (r.WebhookSecret is not null)
        {
            if (Problem(r.WebhookSecret) is { } secretProblem) return KassaError.Validation("webhook_secret", secretProblem);
            if (!r.WebhookSecret.StartsWith("whsec_", StringComparison.Ordinal))
                return KassaError.Validation("webhook_secret", "must be a Stripe webhook signing secret (whsec_…)");
        }
        if (!secrets.Available) return new KassaError(ErrorCodes.SecretsUnavailable, secrets.UnavailableReason ?? "No key to encrypt provider secrets with");

        var (account, livemode) = (op.Tenant.AccountId, op.Tenant.Livemode);
        var existing = await s.Providers.GetConfigAsync(op.Tenant, provider, forUpdate: true);
        var config = new ProviderConfigRecord(account, livemode, provider,
            secrets.Encrypt(r.SecretKey, SecretBox.Context(account, livemode, provider, "secret_key")), r.SecretKey[^4..],
            r.WebhookSecret is null ? null : secrets.Encrypt(r.WebhookSecret, SecretBox.Context(account, livemode, provider, "webhook_secret")),
            existing?.CreatedAt ?? op.Now, op.Now);
        await s.Providers.UpsertConfigAsync(config);
        // Field names only: the audit log never holds a secret.
        await RecordAudit.Execute(s, op, existing is null ? "provider_config.created" : "provider_config.updated", "provider_config", provider,
            r.WebhookSecret is null ? ["secret_key"] : ["secret_key", "webhook_secret"]);
        return ProviderConfigResource.From(config);
    }

    /// <summary>Printable ASCII without spaces, 8 to <see cref="SecretLengthMax"/> characters: every Stripe key and secret is.</summary>
    private static string? Problem(string value)
    {
        if (value.Length < 8 || value.Length > SecretLengthMax) return $"must be 8 to {SecretLengthMax} characters";
        foreach (var c in value)
            if (c <= ' ' || c > '~') return "must be printable ASCII without spaces";
        return null;
    }
}
