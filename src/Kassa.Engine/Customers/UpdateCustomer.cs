using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Customers;

/// <summary><c>PATCH /v1/customers/{id}</c>: sets the fields present in the body; null clears one.</summary>
public static class UpdateCustomer
{
    public static async Task<Result<CustomerRecord>> Execute(IStoreSession session, OperationContext op, string id, CustomerPatch patch)
    {
        var errors = new List<FieldError>();
        patch.Check(errors);
        if (errors.Count > 0) return KassaError.Validation(errors);
        var existing = await session.Customers.GetForUpdateAsync(op.Tenant, id);
        if (existing is null || existing.DeletedAt is not null) return KassaError.NotFound("customer", id);
        return await CustomerInput.ApplyAsync(session, op, existing, patch);
    }
}
