using System.Collections.Concurrent;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TestClocks;

/// <summary>
/// The time a check or track runs at: a test clock's customers live in the clock's frozen time (spec
/// §11), everyone else in real time. Built for the hot path: live mode never looks (clocks are test
/// mode only), and a test-mode tenant is asked at most once a second whether it has any clock, so a
/// tenant without clocks — every benchmark, most test suites — pays nothing per request. For a tenant
/// with clocks the customer's clock is read once (it is set at creation and never changes) and the
/// clock's time on every request (one primary-key read), so an advance on any node is seen at once.
/// </summary>
public sealed class ClockTimes(IKassaStore store, TimeProvider time)
{
    /// <summary>Customers whose clock (or absence of one) is remembered; past it the memory starts over.</summary>
    public const int CustomersMax = 100_000;

    private static readonly TimeSpan TenantRecheck = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<Tenant, (bool HasClocks, DateTimeOffset CheckedAt)> _tenants = new();
    private readonly ConcurrentDictionary<(Tenant, string), string?> _customers = new();

    /// <summary>
    /// The clock of a lock's customer and the time a finalize of it runs at: a lock of a clock's customer
    /// is confirmed or released in the clock's time, so it expires at the clock's instant, not the
    /// server's. Costs nothing for live mode and tenants without clocks; otherwise one lock read.
    /// </summary>
    public async Task<(string? ClockId, DateTimeOffset Now)> ForLockAsync(Tenant tenant, string lockId, DateTimeOffset now, CancellationToken ct)
    {
        if (tenant.Livemode || !await HasClocksAsync(tenant, ct)) return (null, now);
        var locks = await store.ReadAsync(s => s.Balances.LoadLocksAsync(tenant, [lockId]), ct);
        return locks is [var l] ? await ForAsync(tenant, l.CustomerId, now, ct) : (null, now);
    }

    /// <summary>Whether the test-mode tenant has any clock, asked of the database at most once a second.</summary>
    public async Task<bool> HasClocksAsync(Tenant tenant, CancellationToken ct)
    {
        var real = time.GetUtcNow();
        if (!_tenants.TryGetValue(tenant, out var known) || real - known.CheckedAt > TenantRecheck)
        {
            known = (await store.ReadAsync(s => s.TestClocks.AnyAsync(tenant), ct), real);
            _tenants[tenant] = known;
        }
        return known.HasClocks;
    }

    /// <summary>The customer's clock id (null without one) and the time the operation runs at.</summary>
    public async Task<(string? ClockId, DateTimeOffset Now)> ForAsync(Tenant tenant, string customerId, DateTimeOffset now, CancellationToken ct)
    {
        if (tenant.Livemode || !await HasClocksAsync(tenant, ct)) return (null, now);
        if (!_customers.TryGetValue((tenant, customerId), out var clockId))
        {
            var customer = await store.ReadAsync(s => s.Customers.GetAsync(tenant, customerId), ct);
            // An unknown customer is not remembered: it may be created on a clock a moment later.
            if (customer is null) return (null, now);
            clockId = customer.TestClockId;
            if (_customers.Count >= CustomersMax) _customers.Clear();
            _customers[(tenant, customerId)] = clockId;
        }
        if (clockId is null) return (null, now);
        var clock = await store.ReadAsync(s => s.TestClocks.GetAsync(tenant, clockId), ct);
        return clock is null ? (null, now) : (clockId, clock.FrozenTime);
    }
}
