using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>
/// <c>GET /v1/customers/{id}/balances</c> and the balances and flags of <c>GET /v1/customers/{id}</c>:
/// every balance as of now (expired locks released, ended periods reset) computed in memory from a
/// read session; nothing is written.
/// </summary>
public static class ReadBalances
{
    public sealed record Snapshot(IReadOnlyDictionary<string, BalanceView> Balances, IReadOnlyDictionary<string, bool> Flags);

    /// <summary>The balances of a customer the caller has already found (it exists and is not deleted).</summary>
    public static async Task<Snapshot> Execute(IStoreSession s, Tenant tenant, string customerId, string entityId, DateTimeOffset now)
    {
        var book = await BalanceBook.LoadAsync(s, tenant, [customerId], [], forUpdate: false, now, customersKnownToExist: true);
        var balances = new SortedDictionary<string, BalanceView>(StringComparer.Ordinal);
        var flags = new SortedDictionary<string, bool>(StringComparer.Ordinal);
        foreach (var live in book.OfCustomer(customerId).Where(l => l.Header.EntityId == entityId).ToList())
        {
            LiveBalance current;
            try
            {
                current = book.Get(customerId, live.Header.FeatureId, entityId, now)!;
            }
            catch (Kassa.Core.Balances.BalanceOverflowException e)
            {
                // A period reset that cannot fit the bound is refused until an operator lowers the grants;
                // a read says so (400 quantity_overflow) rather than failing with a 500.
                throw new QuantityOverflowException(e.Message, e);
            }
            if (current.Header.IsFlag) flags[current.Header.FeatureId] = true;
            else balances[current.Header.FeatureId] = current.View(now);
        }
        return new Snapshot(balances, flags);
    }

    /// <summary>
    /// The time a customer's balances are read at: a test clock's customers live in the clock's time
    /// (spec §11), so their holds, grants and periods read as of the clock, like check and track see them.
    /// </summary>
    public static async Task<DateTimeOffset> ClockNowAsync(IStoreSession s, Tenant tenant, string? testClockId, DateTimeOffset now) =>
        testClockId is not null && await s.TestClocks.GetAsync(tenant, testClockId) is { } clock ? clock.FrozenTime : now;

    public static async Task<Result<Resources.ListResource<BalanceView>>> List(IStoreSession s, Tenant tenant, string customerId, string? entityId, DateTimeOffset now)
    {
        var customer = await s.Customers.GetAsync(tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var snapshot = await Execute(s, tenant, customerId, entityId ?? "", await ClockNowAsync(s, tenant, customer.TestClockId, now));
        return new Resources.ListResource<BalanceView>(snapshot.Balances.Values.ToList(), false, null);
    }
}
