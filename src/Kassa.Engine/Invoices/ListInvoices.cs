using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Invoices;

/// <summary><c>GET /v1/invoices?customer_id=&amp;status=</c>: newest first, with their lines (read in one query for the page).</summary>
public static class ListInvoices
{
    public static async Task<Result<Page<InvoiceResource>>> Execute(IStoreSession s, Tenant tenant, string? customerId, string? status, PageRequest page)
    {
        if (customerId is not null && Rules.Text(customerId, Rules.CustomerIdLengthMax) is { } c) return KassaError.Validation("customer_id", c);
        if (status is not null && !InvoiceRules.Statuses.Contains(status))
            return KassaError.Validation("status", $"must be one of {string.Join(", ", InvoiceRules.Statuses)}");
        var rows = await s.Invoices.ListAsync(tenant, new InvoiceFilter(customerId, status), page.After, page.Limit + 1);
        var shown = rows.Take(page.Limit).Select(i => i.Id).ToList();
        var lines = (await s.Invoices.LinesAsync(tenant, shown)).ToLookup(l => l.InvoiceId, StringComparer.Ordinal);
        return page.Build(rows, i => new Cursor(Micros.From(i.CreatedAt), i.Id), i => InvoiceResource.From(i, lines[i.Id]));
    }
}
