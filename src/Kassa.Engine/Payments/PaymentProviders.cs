using System.Collections.Concurrent;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// Which provider serves a tenant. A tenant that configured a provider (<c>PUT /v1/providers/stripe</c>)
/// is served by it in that mode; test mode without one keeps the built-in sandbox; live mode without one
/// has none, so charging answers an error instead of pretending to collect money. An attempt (payment,
/// refund) always completes with the provider named on its row (<see cref="NamedAsync"/>), so a sandbox
/// attempt begun before Stripe was configured still completes with the sandbox.
/// <para>
/// Configurations are cached per tenant for <see cref="CacheTtl"/>: this node drops its entry when the
/// configuration is changed through it (<see cref="Invalidate"/>); another node sees the change within
/// the TTL.
/// </para>
/// </summary>
public sealed class PaymentProviders
{
    /// <summary>How long another node may serve a changed configuration from its cache.</summary>
    public static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(30);

    /// <summary>Tenants cached at most; past it the cache starts over (a bound, not a policy).</summary>
    public const int CacheSizeMax = 10_000;

    private readonly IPaymentProvider _testMode;
    private readonly IKassaStore? _store;
    private readonly SecretBox? _secrets;
    private readonly Dictionary<string, IConfiguredProviderFactory> _factories = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = TimeProvider.System;
    private readonly ConcurrentDictionary<(Tenant Tenant, string Provider), Cached> _cache = new();

    private sealed record Cached(IPaymentProvider? Provider, long ExpiresTicks);

    public PaymentProviders(SandboxProvider sandbox) => _testMode = sandbox;

    /// <summary>
    /// Serves test mode with another provider: for tests that wrap the sandbox to inject a fault (a
    /// charge that happens and then loses its answer). No provider can be configured through it.
    /// </summary>
    public PaymentProviders(IPaymentProvider testMode) => _testMode = testMode;

    /// <summary>The server's: configured providers are read from <paramref name="store"/> and decrypted with <paramref name="secrets"/>.</summary>
    public PaymentProviders(IPaymentProvider testMode, IKassaStore store, SecretBox secrets, IEnumerable<IConfiguredProviderFactory> factories, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(factories);
        _testMode = testMode;
        _store = store;
        _secrets = secrets;
        _time = time;
        foreach (var f in factories) _factories[f.Provider] = f;
    }

    /// <summary>The providers a tenant can configure (<c>stripe</c>).</summary>
    public IReadOnlyCollection<string> Configurable => _factories.Keys;

    /// <summary>The provider new attempts and methods of this tenant use: the configured one, else the sandbox in test mode.</summary>
    public async ValueTask<IPaymentProvider?> ForAsync(Tenant tenant, CancellationToken ct = default)
    {
        foreach (var name in _factories.Keys)
            if (await ConfiguredAsync(tenant, name, ct) is { } configured) return configured;
        return tenant.Livemode ? null : _testMode;
    }

    /// <summary>
    /// The provider named on an attempt's row: the sandbox in test mode, or the configured one. Throws
    /// <see cref="ProviderUnavailableException"/> when that provider is not configured (any more).
    /// </summary>
    public async ValueTask<IPaymentProvider?> NamedAsync(Tenant tenant, string provider, CancellationToken ct = default)
    {
        if (provider == _testMode.Name) return tenant.Livemode ? null : _testMode;
        if (!_factories.ContainsKey(provider)) return null;
        // An attempt made with a provider whose configuration is gone may have been charged: its outcome
        // is unknown, not failed, until the provider is configured again and answers for its key.
        return await ConfiguredAsync(tenant, provider, ct)
            ?? throw new ProviderUnavailableException($"The '{provider}' provider is not configured for this account and mode any more");
    }

    /// <summary>Forgets this node's cached configuration of the tenant (after a PUT or DELETE committed).</summary>
    public void Invalidate(Tenant tenant)
    {
        foreach (var name in _factories.Keys) _cache.TryRemove((tenant, name), out _);
    }

    /// <summary>The tenant's configured provider <paramref name="provider"/>, made from its decrypted key; null when none is configured.</summary>
    private async ValueTask<IPaymentProvider?> ConfiguredAsync(Tenant tenant, string provider, CancellationToken ct)
    {
        if (_store is null || _secrets is null || !_factories.TryGetValue(provider, out var factory)) return null;
        var now = _time.GetUtcNow().UtcTicks;
        if (_cache.TryGetValue((tenant, provider), out var hit) && hit.ExpiresTicks > now) return hit.Provider;
        var config = await _store.ReadAsync(s => s.Providers.GetConfigAsync(tenant, provider), ct);
        IPaymentProvider? made = null;
        if (config is not null && _secrets.Available)
        {
            var key = _secrets.Decrypt(config.SecretKeyCipher, SecretBox.Context(tenant.AccountId, tenant.Livemode, provider, "secret_key"));
            made = factory.Create(tenant, key);
        }
        if (_cache.Count >= CacheSizeMax) _cache.Clear();
        _cache[(tenant, provider)] = new Cached(made, now + CacheTtl.Ticks);
        return made;
    }
}
