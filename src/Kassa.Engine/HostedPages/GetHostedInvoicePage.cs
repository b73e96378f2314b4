using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.HostedPages;

/// <summary>
/// <c>GET /v1/invoices/{id}.html</c>: the printable page of one invoice, with the seller (the account's
/// name) and the customer as they are now. Who may see it is decided before (a secret key of the
/// tenant, or a valid <see cref="HostedInvoiceLinks"/> token); an invoice the tenant lacks is 404.
/// </summary>
public static class GetHostedInvoicePage
{
    public static async Task<Result<string>> Execute(IStoreSession s, Tenant tenant, string id)
    {
        var invoice = await s.Invoices.GetAsync(tenant, id);
        if (invoice is null) return KassaError.NotFound("invoice", id);
        var lines = await s.Invoices.LinesAsync(tenant, [invoice.Id]);
        var customer = await s.Customers.GetAsync(tenant, invoice.CustomerId);
        var account = await s.Accounts.GetAsync(tenant.AccountId);
        return InvoiceHtml.Render(invoice, lines, customer, account?.Name ?? "");
    }
}
