using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Customers;

/// <summary>
/// <c>PUT /v1/customers/{id}</c>: get-or-create, safe to call on every login. Fields present in the
/// body are set; absent fields are left alone. An unchanged customer is not written and not audited,
/// so the common case (a login with the same name and e-mail) costs one read.
/// </summary>
public static class UpsertCustomer
{
    public sealed record Outcome(CustomerRecord Customer, bool Created);

    public static KassaError? Validate(string id, CustomerPatch patch)
    {
        var errors = new List<FieldError>();
        if (Rules.CustomerId(id) is { } idProblem) errors.Add(new FieldError("id", idProblem));
        patch.Check(errors);
        return errors.Count > 0 ? KassaError.Validation(errors) : null;
    }

    public static async Task<Result<Outcome>> Execute(IStoreSession session, OperationContext op, string id, CustomerPatch patch)
    {
        if (Validate(id, patch) is { } invalid) return invalid;
        // Two tries: a concurrent PUT may create the customer between our read and our insert;
        // the insert then reports the conflict and the second pass updates what the other created.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var existing = await session.Customers.GetForUpdateAsync(op.Tenant, id);
            if (existing is { DeletedAt: not null })
                return KassaError.InvalidState($"Customer '{id}' was deleted; ids of deleted customers are not reused");
            if (existing is null)
            {
                var created = new CustomerRecord(
                    op.Tenant.AccountId, op.Tenant.Livemode, id, patch.Email.Value, patch.Name.Value, patch.Address.Value?.ToAddress(),
                    patch.Metadata.Value ?? new Dictionary<string, string>(), null, null, op.Now, op.Now, null);
                if (!await session.Customers.TryInsertAsync(created)) continue;
                if (await CustomerInput.CreatedAsync(session, op, created) is { } failed) return failed;
                return new Outcome(created, true);
            }
            return new Outcome(await CustomerInput.ApplyAsync(session, op, existing, patch), false);
        }
        return KassaError.InvalidState($"Customer '{id}' is being changed concurrently; retry the request");
    }
}
