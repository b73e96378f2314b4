using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Customers;

/// <summary><c>POST /v1/customers</c>: creates a customer; the id is yours or, if omitted, <c>cus_…</c>.</summary>
public static class CreateCustomer
{
    /// <param name="TestClockId">Test mode: the customer lives in this test clock's time (spec §11); set only at creation.</param>
    public sealed record Request(string? Id, string? Email, string? Name, AddressInput? Address, Dictionary<string, string>? Metadata, string? TestClockId = null);

    public static KassaError? Validate(Request request)
    {
        var errors = new List<FieldError>();
        if (request.Id is not null && Rules.CustomerId(request.Id) is { } idProblem) errors.Add(new FieldError("id", idProblem));
        CustomerInput.Check(request.Email, request.Name, request.Address, request.Metadata, errors);
        return errors.Count > 0 ? KassaError.Validation(errors) : null;
    }

    public static async Task<Result<CustomerRecord>> Execute(IStoreSession session, OperationContext op, Request request)
    {
        if (Validate(request) is { } invalid) return invalid;
        if (request.TestClockId is { } clockId)
        {
            if (op.Tenant.Livemode) return new KassaError(ErrorCodes.TestModeOnly, "Test clocks exist in test mode only", "test_clock_id");
            if (await session.TestClocks.GetAsync(op.Tenant, clockId) is null) return KassaError.NotFound("test_clock", clockId) with { Param = "test_clock_id" };
        }
        var customer = new CustomerRecord(
            op.Tenant.AccountId, op.Tenant.Livemode, request.Id ?? op.NewId(IdPrefixes.Customer), request.Email, request.Name,
            request.Address?.ToAddress(), request.Metadata ?? new Dictionary<string, string>(), request.TestClockId, null, op.Now, op.Now, null);
        if (!await session.Customers.TryInsertAsync(customer))
            return new KassaError(ErrorCodes.AlreadyExists, $"A customer with id '{customer.Id}' already exists", "id");
        if (await CustomerInput.CreatedAsync(session, op, customer) is { } failed) return failed;
        return customer;
    }
}
