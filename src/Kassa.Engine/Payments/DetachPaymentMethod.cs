using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// <c>DELETE /v1/payment_methods/{id}</c>: detaches a method so it can no longer be charged. If it was
/// the default the customer has none afterwards: another card is never picked silently. Attempts already
/// begun with it still complete (they were committed before the detach). Detaching twice is a 409.
/// </summary>
public static class DetachPaymentMethod
{
    public static async Task<Result<PaymentMethodResource>> Execute(IStoreSession s, OperationContext op, string id)
    {
        var found = await s.Payments.GetMethodAsync(op.Tenant, id);
        if (found is null) return KassaError.NotFound("payment_method", id);
        // The customer first, then the method: the same lock order as attach and set-default.
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, found.CustomerId);
        var method = (await s.Payments.GetMethodAsync(op.Tenant, id, forUpdate: true))!;
        if (method.DetachedAt is not null) return KassaError.InvalidState($"Payment method '{method.Id}' is already detached");

        var detached = method with { IsDefault = false, DetachedAt = op.Now };
        await s.Payments.UpdateMethodAsync(detached);
        if (customer is not null && customer.DefaultPaymentMethodId == method.Id)
            await s.Customers.UpdateAsync(customer with { DefaultPaymentMethodId = null, UpdatedAt = op.Now });
        var resource = PaymentMethodResource.From(detached);
        await RecordAudit.Execute(s, op, EventTypes.PaymentMethodDetached, "payment_method", method.Id, ["detached_at", "is_default"]);
        await EmitEvent.Execute(s, op, EventTypes.PaymentMethodDetached, "payment_method", method.Id, resource);
        return resource;
    }
}
