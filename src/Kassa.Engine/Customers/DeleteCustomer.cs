using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Customers;

/// <summary>
/// <c>DELETE /v1/customers/{id}</c>: archives the customer. It then answers 404 and is not listed,
/// but the row stays so invoices and ledger entries that name it keep their reference. The
/// "active paid subscription" refusal arrives with subscriptions.
/// </summary>
public static class DeleteCustomer
{
    public static async Task<Result<CustomerRecord>> Execute(IStoreSession session, OperationContext op, string id)
    {
        var existing = await session.Customers.GetForUpdateAsync(op.Tenant, id);
        if (existing is null || existing.DeletedAt is not null) return KassaError.NotFound("customer", id);
        var archived = existing with { DeletedAt = op.Now, UpdatedAt = op.Now };
        await session.Customers.UpdateAsync(archived);
        await RecordAudit.Execute(session, op, "customer.deleted", "customer", id, ["deleted"]);
        await EmitEvent.Execute(session, op, EventTypes.CustomerDeleted, "customer", id, CustomerResource.From(archived));
        return archived;
    }
}
