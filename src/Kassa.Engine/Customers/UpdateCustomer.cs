using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Customers;

/// <summary><c>PATCH /v1/customers/{id}</c>: sets the fields present in the body; null clears one.</summary>
public static class UpdateCustomer
{
    public sealed record Request(Optional<string> Email, Optional<string> Name, Optional<AddressInput> Address, Optional<Dictionary<string, string>> Metadata);

    public static async Task<Result<CustomerRecord>> Execute(IStoreSession session, OperationContext op, string id, Request request)
    {
        var errors = new List<FieldError>();
        CustomerInput.Check(request.Email.Value, request.Name.Value, request.Address.Value, request.Metadata.Value, errors);
        if (errors.Count > 0) return KassaError.Validation(errors);
        var existing = await session.Customers.GetAsync(op.Tenant, id);
        if (existing is null || existing.DeletedAt is not null) return KassaError.NotFound("customer", id);
        var updated = existing with
        {
            Email = request.Email.Or(existing.Email),
            Name = request.Name.Or(existing.Name),
            Address = request.Address.IsSet ? request.Address.Value?.ToAddress() : existing.Address,
            Metadata = request.Metadata.IsSet ? request.Metadata.Value ?? new Dictionary<string, string>() : existing.Metadata,
        };
        var changed = CustomerInput.Changes(existing, updated);
        if (changed.Count == 0) return existing;
        updated = updated with { UpdatedAt = op.Now };
        await session.Customers.UpdateAsync(updated);
        await RecordAudit.Execute(session, op, "customer.updated", "customer", id, changed);
        return updated;
    }
}
