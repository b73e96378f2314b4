using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Customers;

/// <summary><c>GET /v1/customers/{id}</c>: the customer with subscriptions, balances and flags.</summary>
public static class GetCustomer
{
    public static async Task<Result<CustomerDetailResource>> Execute(IStoreSession session, Tenant tenant, string id, DateTimeOffset now)
    {
        var customer = await session.Customers.GetAsync(tenant, id);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", id);
        var snapshot = await Balances.ReadBalances.Execute(session, tenant, id, "", await Balances.ReadBalances.ClockNowAsync(session, tenant, customer.TestClockId, now));
        return CustomerDetailResource.From(customer) with
        {
            Balances = snapshot.Balances.ToDictionary(kv => kv.Key, kv => (object)kv.Value),
            Flags = snapshot.Flags,
        };
    }
}
