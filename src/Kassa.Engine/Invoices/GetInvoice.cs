using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Invoices;

/// <summary><c>GET /v1/invoices/{id}</c>: the invoice with its lines.</summary>
public static class GetInvoice
{
    public static async Task<Result<InvoiceResource>> Execute(IStoreSession s, Tenant tenant, string id)
    {
        var invoice = await s.Invoices.GetAsync(tenant, id);
        if (invoice is null) return KassaError.NotFound("invoice", id);
        return await InvoiceRules.ResourceAsync(s, tenant, invoice);
    }
}
