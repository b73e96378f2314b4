using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// <c>POST /v1/customers/{id}/default_payment_method</c>: makes one of the customer's attached methods
/// the one charges use when none is named. The old default loses the flag first, so the partial unique
/// index (one default per customer) holds at every statement. Answers the customer.
/// </summary>
public static class SetDefaultPaymentMethod
{
    public sealed record Request(string? PaymentMethodId);

    public static async Task<Result<CustomerResource>> Execute(IStoreSession s, OperationContext op, string customerId, Request r)
    {
        if (r.PaymentMethodId is null) return KassaError.Missing("payment_method_id");
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var method = await s.Payments.GetMethodAsync(op.Tenant, r.PaymentMethodId, forUpdate: true);
        if (method is null || method.CustomerId != customer.Id) return new KassaError(ErrorCodes.ResourceMissing, $"No such payment_method: '{r.PaymentMethodId}'", "payment_method_id");
        if (method.DetachedAt is not null) return KassaError.InvalidState($"Payment method '{method.Id}' is detached");

        if (!method.IsDefault)
        {
            if (await s.Payments.DefaultMethodAsync(op.Tenant, customer.Id) is { } old) await s.Payments.UpdateMethodAsync(old with { IsDefault = false });
            await s.Payments.UpdateMethodAsync(method with { IsDefault = true });
            await TopUps.RearmAutoTopUps.Execute(s, op, customer.Id);
        }
        var updated = customer with { DefaultPaymentMethodId = method.Id, UpdatedAt = op.Now };
        await s.Customers.UpdateAsync(updated);
        var resource = CustomerResource.From(updated);
        await RecordAudit.Execute(s, op, EventTypes.CustomerUpdated, "customer", customer.Id, ["default_payment_method_id"]);
        await EmitEvent.Execute(s, op, EventTypes.CustomerUpdated, "customer", customer.Id, resource,
            new Dictionary<string, object?> { ["default_payment_method_id"] = customer.DefaultPaymentMethodId });
        return resource;
    }
}
