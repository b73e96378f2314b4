using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary><c>GET /v1/customers/{id}/payment_methods</c>: the customer's attached methods, newest first.</summary>
public static class ListPaymentMethods
{
    public static async Task<Result<Page<PaymentMethodResource>>> Execute(IStoreSession s, Tenant tenant, string customerId, PageRequest page)
    {
        var customer = await s.Customers.GetAsync(tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var rows = await s.Payments.ListMethodsAsync(tenant, customerId, page.After, page.Limit + 1);
        return page.Build(rows, m => new Cursor(Micros.From(m.CreatedAt), m.Id), PaymentMethodResource.From);
    }
}
