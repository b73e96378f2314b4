using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ProviderWebhooks;

/// <summary>
/// A provider's <see cref="MethodAttached"/> / <see cref="MethodDetached"/>: a method saved or removed at
/// the provider (a SetupIntent, the provider's dashboard) becomes or stops being a Kassa payment method,
/// with the same rows and events as the API calls. Attached once per token and customer (checked with
/// the customer locked, as <see cref="AttachPaymentMethod"/> locks it); the customer's first method
/// becomes its default.
/// </summary>
public static class ApplyMethodEvent
{
    /// <summary>A token names one card of one customer; more methods with one token than this are not detached by one event.</summary>
    public const int DetachMax = 10;

    public static async Task<Result<string>> AttachedAsync(IStoreSession s, OperationContext op, string provider, MethodAttached e)
    {
        if (e.CustomerId is null) return ProviderEventOutcomes.UnknownCustomer;
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, e.CustomerId);
        if (customer is null || customer.DeletedAt is not null) return ProviderEventOutcomes.UnknownCustomer;
        if ((await s.ProviderEvents.AttachedMethodIdsByTokenAsync(op.Tenant, provider, e.MethodToken, customer.Id, 1)).Count > 0)
            return ProviderEventOutcomes.AlreadyAttached;

        var isDefault = await s.Payments.DefaultMethodAsync(op.Tenant, customer.Id) is null;
        var method = new PaymentMethodRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.PaymentMethod), customer.Id, provider,
            e.MethodToken, e.Card.Brand.ToString().ToLowerInvariant(), e.Card.Last4, e.Card.ExpMonth, e.Card.ExpYear, isDefault, op.Now, null);
        await s.Payments.InsertMethodAsync(method);
        if (isDefault) await s.Customers.UpdateAsync(customer with { DefaultPaymentMethodId = method.Id, UpdatedAt = op.Now });
        await RecordAudit.Execute(s, op, EventTypes.PaymentMethodAttached, "payment_method", method.Id, ["customer_id", "card", "is_default"]);
        await EmitEvent.Execute(s, op, EventTypes.PaymentMethodAttached, "payment_method", method.Id, PaymentMethodResource.From(method));
        return ProviderEventOutcomes.Applied;
    }

    public static async Task<Result<string>> DetachedAsync(IStoreSession s, OperationContext op, string provider, MethodDetached e)
    {
        var ids = await s.ProviderEvents.AttachedMethodIdsByTokenAsync(op.Tenant, provider, e.MethodToken, null, DetachMax);
        var detached = 0;
        foreach (var id in ids)
        {
            // The use case of DELETE /v1/payment_methods/{id}: its lock order, its default rule, its event.
            if ((await DetachPaymentMethod.Execute(s, op, id)).IsOk) detached++;
        }
        return detached > 0 ? ProviderEventOutcomes.Applied : ProviderEventOutcomes.UnknownMethod;
    }
}
